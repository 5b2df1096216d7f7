// C ABI: a sampler handle for callers running their own evaluate loop.
#include <memory>

#include "apr/error.hpp"
#include "apr/sampling.hpp"
#include "capi_internal.hpp"
#include "capi_layouts.hpp"

struct apr_sampler {
    apr::Sampler sampler;
};

namespace {
using apr::capi::require;
}

extern "C" {

apr_status apr_sampler_create(const apr_generate_params* params, apr_sampler** out) {
    if (out) *out = nullptr;
    return apr::capi::guarded([&] {
        require(out != nullptr, "apr_sampler_create: out is NULL");
        apr_generate_params defaults{};
        apr_generate_default_params(&(defaults.struct_size = sizeof(defaults), defaults));
        const apr_generate_params p = apr::capi::read_params(params, defaults, "apr_sampler_create");
        apr::SamplingParams s;
        s.temperature = p.temperature;
        s.top_k = p.top_k;
        s.top_p = p.top_p;
        s.min_p = p.min_p;
        s.repeat_penalty = p.repeat_penalty;
        s.presence_penalty = p.presence_penalty;
        s.frequency_penalty = p.frequency_penalty;
        s.penalty_last_n = p.penalty_last_n;
        s.seed = p.seed;
        *out = new apr_sampler{apr::Sampler(s)};  // validates: bad values are APR_ERR_INVALID_ARGUMENT
    });
}

void apr_sampler_free(apr_sampler* sampler) { delete sampler; }

apr_status apr_sampler_sample(apr_sampler* sampler, const float* logits, size_t count, int32_t* out_token) {
    if (out_token) *out_token = -1;
    return apr::capi::guarded([&] {
        require(sampler != nullptr && logits != nullptr && out_token != nullptr && count > 0,
                "apr_sampler_sample: sampler, logits or out_token is NULL, or count is 0");
        *out_token = sampler->sampler.sample(std::span<const float>(logits, count));
    });
}

void apr_sampler_accept(apr_sampler* sampler, int32_t token) {
    if (sampler) sampler->sampler.accept(token);
}

void apr_sampler_reset(apr_sampler* sampler) {
    if (sampler) sampler->sampler.reset();
}

}  // extern "C"
