// C ABI: models, sessions, generation.
#include <cstddef>
#include <cstdlib>
#include <functional>
#include <cstring>
#include <memory>
#include <string>

#include "apr/error.hpp"
#include "apr/generate.hpp"
#include "apr/model.hpp"
#include "apr/session.hpp"
#include "capi_internal.hpp"

struct apr_model {
    std::unique_ptr<apr::Model> model;
};
struct apr_session {
    std::unique_ptr<apr::Session> session;
};

namespace {

void require(bool ok, const char* what) {
    if (!ok) throw apr::Error(apr::ErrorCode::invalid_argument, what);
}

// Reads a caller's params struct that may be older (shorter) than ours: the
// fields it lacks keep their defaults.
template <typename T>
T read_sized(const T* in, const T& defaults, const char* what) {
    T out = defaults;
    if (in == nullptr) return out;
    require(in->struct_size >= sizeof(size_t), what);
    std::memcpy(static_cast<void*>(&out), in, in->struct_size < sizeof(T) ? in->struct_size : sizeof(T));
    return out;
}

// Writes defaults into a caller's struct, no further than its struct_size.
template <typename T>
void write_sized(T* out, const T& full) {
    if (out == nullptr || out->struct_size < sizeof(size_t)) return;
    const size_t caller_size = out->struct_size;
    std::memcpy(static_cast<void*>(out), &full, caller_size < sizeof(T) ? caller_size : sizeof(T));
    out->struct_size = caller_size;
}

apr_model_params model_defaults() { return {sizeof(apr_model_params), 0}; }
apr_session_params session_defaults() {
    return {sizeof(apr_session_params), 0, 0, apr::SessionParams{}.batch_size, APR_KV_DEFAULT};
}
apr_generate_params generate_defaults() {
    const apr::GenerateParams g;
    return {sizeof(apr_generate_params), g.max_tokens, g.sampling.temperature, g.sampling.top_k, g.sampling.top_p,
            g.sampling.min_p, g.sampling.repeat_penalty, g.sampling.presence_penalty, g.sampling.frequency_penalty,
            g.sampling.penalty_last_n, g.sampling.seed, nullptr, 0, 1, nullptr};
}

char* copy_string(const std::string& s) {
    char* out = static_cast<char*>(std::malloc(s.size() + 1));
    if (out == nullptr) throw std::bad_alloc();
    std::memcpy(out, s.data(), s.size() + 1);
    return out;
}

apr_status run_generate(apr_session* session, const apr_generate_params* params, apr_token_callback callback,
                        void* user_data, apr_generate_result* result,
                        const std::function<apr::GenerateResult(apr::Session&, const apr::GenerateParams&,
                                                                const apr::TokenCallback&)>& body) {
    return apr::capi::guarded([&] {
        require(session != nullptr, "apr_generate: session is NULL");
        require(result == nullptr || result->struct_size >= sizeof(size_t),
                "apr_generate: result->struct_size must be set to sizeof(apr_generate_result)");
        const apr_generate_params p = read_sized(params, generate_defaults(),
                                                 "apr_generate: params->struct_size must be set");
        apr::GenerateParams g;
        g.max_tokens = p.max_tokens;
        g.sampling.temperature = p.temperature;
        g.sampling.top_k = p.top_k;
        g.sampling.top_p = p.top_p;
        g.sampling.min_p = p.min_p;
        g.sampling.repeat_penalty = p.repeat_penalty;
        g.sampling.presence_penalty = p.presence_penalty;
        g.sampling.frequency_penalty = p.frequency_penalty;
        g.sampling.penalty_last_n = p.penalty_last_n;
        g.sampling.seed = p.seed;
        g.parse_special = p.parse_special != 0;
        require(p.stop_string_count == 0 || p.stop_strings != nullptr, "apr_generate: stop_strings is NULL");
        for (size_t i = 0; i < p.stop_string_count; ++i) {
            require(p.stop_strings[i] != nullptr, "apr_generate: a stop string is NULL");
            g.stop_strings.emplace_back(p.stop_strings[i]);
        }
        const volatile int32_t* cancel = p.cancel;
        apr::TokenCallback on_token;
        if (callback != nullptr || cancel != nullptr)
            on_token = [&](const apr::GeneratedToken& t) {
                if (callback != nullptr &&
                    callback(t.id, t.text.data(), t.text.size(), t.is_end ? 1 : 0, user_data) == 0)
                    return false;
                return cancel == nullptr || *cancel == 0;
            };
        if (cancel != nullptr && *cancel != 0) g.max_tokens = 0;
        apr::GenerateResult r = body(*session->session, g, on_token);
        if (cancel != nullptr && *cancel != 0) r.finish_reason = apr::FinishReason::cancelled;
        if (result == nullptr) return;
        apr_generate_result out{};
        out.struct_size = sizeof(apr_generate_result);
        out.finish_reason = static_cast<int32_t>(r.finish_reason);
        out.prompt_tokens = r.prompt_tokens;
        out.completion_tokens = r.completion_tokens;
        out.prompt_ms = r.prompt_ms;
        out.generation_ms = r.generation_ms;
        out.text = copy_string(r.text);
        out.tokens = static_cast<int32_t*>(std::malloc(sizeof(int32_t) * (r.tokens.size() + 1)));
        if (out.tokens == nullptr) {
            std::free(out.text);
            throw std::bad_alloc();
        }
        std::copy(r.tokens.begin(), r.tokens.end(), out.tokens);
        // An older caller's struct without room for the pointers gets no copies to leak.
        if (result->struct_size < offsetof(apr_generate_result, tokens) + sizeof(int32_t*)) {
            std::free(out.tokens);
            out.tokens = nullptr;
        }
        if (result->struct_size < offsetof(apr_generate_result, text) + sizeof(char*)) {
            std::free(out.text);
            out.text = nullptr;
        }
        write_sized(result, out);
    });
}

}  // namespace

extern "C" {

void apr_model_default_params(apr_model_params* params) { write_sized(params, model_defaults()); }
void apr_session_default_params(apr_session_params* params) { write_sized(params, session_defaults()); }
void apr_generate_default_params(apr_generate_params* params) { write_sized(params, generate_defaults()); }

apr_status apr_model_load(const char* path, const apr_model_params* params, apr_model** out) {
    if (out) *out = nullptr;
    return apr::capi::guarded([&] {
        require(path != nullptr, "apr_model_load: path is NULL");
        require(out != nullptr, "apr_model_load: out is NULL");
        const apr_model_params p = read_sized(params, model_defaults(), "apr_model_load: params->struct_size must be set");
        apr::ModelParams mp;
        mp.threads = p.n_threads;
        auto handle = std::make_unique<apr_model>();
        handle->model = apr::Model::load(path, mp);
        *out = handle.release();
    });
}

void apr_model_free(apr_model* model) { delete model; }

int64_t apr_model_vocab_size(const apr_model* model) { return model ? model->model->config().vocab_size : 0; }

apr_status apr_session_create(apr_model* model, const apr_session_params* params, apr_session** out) {
    if (out) *out = nullptr;
    return apr::capi::guarded([&] {
        require(model != nullptr, "apr_session_create: model is NULL");
        require(out != nullptr, "apr_session_create: out is NULL");
        const apr_session_params p =
            read_sized(params, session_defaults(), "apr_session_create: params->struct_size must be set");
        apr::SessionParams sp;
        sp.context_length = p.context_length;
        switch (p.kv_type) {
            case APR_KV_DEFAULT:
                if (p.kv_cache_f32) sp.kv_cache_type = apr::KVCacheType::f32;
                break;
            case APR_KV_F32: sp.kv_cache_type = apr::KVCacheType::f32; break;
            case APR_KV_F16: sp.kv_cache_type = apr::KVCacheType::f16; break;
            case APR_KV_Q8_0: sp.kv_cache_type = apr::KVCacheType::q8_0; break;
            default: require(false, "apr_session_create: params->kv_type must be an apr_kv_type (0..3)");
        }
        sp.batch_size = p.batch_size;
        auto handle = std::make_unique<apr_session>();
        handle->session = std::make_unique<apr::Session>(*model->model, sp);
        *out = handle.release();
    });
}

void apr_session_free(apr_session* session) { delete session; }
void apr_session_reset(apr_session* session) {
    if (session) session->session->reset();
}
int64_t apr_session_position(const apr_session* session) { return session ? session->session->position() : 0; }

apr_status apr_generate(apr_session* session, const char* prompt, const apr_generate_params* params,
                        apr_token_callback callback, void* user_data, apr_generate_result* result) {
    if (prompt == nullptr) {
        return apr::capi::guarded([] { require(false, "apr_generate: prompt is NULL"); });
    }
    return run_generate(session, params, callback, user_data, result,
                        [&](apr::Session& s, const apr::GenerateParams& g, const apr::TokenCallback& cb) {
                            return apr::generate(s, std::string_view(prompt), g, cb);
                        });
}

apr_status apr_generate_tokens(apr_session* session, const int32_t* prompt, size_t prompt_len,
                               const apr_generate_params* params, apr_token_callback callback, void* user_data,
                               apr_generate_result* result) {
    if (prompt == nullptr && prompt_len > 0) {
        return apr::capi::guarded([] { require(false, "apr_generate_tokens: prompt is NULL"); });
    }
    return run_generate(session, params, callback, user_data, result,
                        [&](apr::Session& s, const apr::GenerateParams& g, const apr::TokenCallback& cb) {
                            return apr::generate(s, std::span<const int32_t>(prompt, prompt_len), g, cb);
                        });
}

void apr_generate_result_clear(apr_generate_result* result) {
    if (result == nullptr) return;
    if (result->struct_size >= offsetof(apr_generate_result, text) + sizeof(char*)) {
        std::free(result->text);
        result->text = nullptr;
    }
    if (result->struct_size >= offsetof(apr_generate_result, tokens) + sizeof(int32_t*)) {
        std::free(result->tokens);
        result->tokens = nullptr;
    }
}

}  // extern "C"
