// C ABI: loading models, their info and config, end ids.
#include <memory>

#include "apr/error.hpp"
#include "apr/model.hpp"
#include "capi_internal.hpp"
#include "capi_layouts.hpp"

namespace {

using apr::capi::require;

apr_model_params model_defaults() {
    apr_model_params p{};
    p.struct_size = sizeof(p);
    p.n_threads = 0;
    p.device = APR_DEVICE_CPU;
    return p;
}

}  // namespace

namespace apr::capi {

// Shared with apr_model_file_config: one translation of ModelConfig.
apr_model_config make_config(const apr::ModelConfig& c) {
    apr_model_config full{};
    full.struct_size = sizeof(full);
    full.hidden_size = c.hidden_size;
    full.num_layers = c.num_layers;
    full.num_heads = c.num_heads;
    full.num_kv_heads = c.num_kv_heads;
    full.head_dim = c.head_dim;
    full.intermediate_size = c.intermediate_size;
    full.vocab_size = c.vocab_size;
    full.context_length = c.context_length;
    full.rope_theta = c.rope_theta;
    full.rms_norm_eps = c.rms_norm_eps;
    full.tied_embeddings = c.tied_embeddings ? 1 : 0;
    full.attention_bias = c.attention_bias ? 1 : 0;
    full.bos_token_id = c.bos_token_id.value_or(-1);
    full.pad_token_id = c.pad_token_id.value_or(-1);
    full.eos_token_id = c.eos_token_ids.empty() ? -1 : c.eos_token_ids.front();
    full.eos_token_count = static_cast<int32_t>(c.eos_token_ids.size());
    return full;
}

}  // namespace apr::capi

extern "C" {

void apr_model_default_params(apr_model_params* params) {
    apr::capi::write_defaults(params, model_defaults(), "apr_model_default_params");
}

apr_status apr_model_load(const char* path, const apr_model_params* params, apr_model** out) {
    if (out) *out = nullptr;
    return apr::capi::guarded([&] {
        require(path != nullptr, "apr_model_load: path is NULL");
        require(out != nullptr, "apr_model_load: out is NULL");
        const apr_model_params p = apr::capi::read_params(params, model_defaults(), "apr_model_load");
        apr::ModelParams mp;
        mp.threads = p.n_threads;
        switch (p.device) {
            case APR_DEVICE_CPU: mp.device = apr::Device::cpu; break;
            case APR_DEVICE_CUDA: mp.device = apr::Device::cuda; break;
            default: require(false, "apr_model_load: params->device must be an apr_device (APR_DEVICE_CPU or APR_DEVICE_CUDA)");
        }
        if (p.progress_callback != nullptr) {
            const apr_progress_callback callback = p.progress_callback;
            void* user_data = p.progress_user_data;
            mp.progress = [callback, user_data](float progress) { return callback(progress, user_data) != 0; };
        }
        auto handle = std::make_unique<apr_model>();
        handle->model = apr::Model::load(path, mp);
        *out = handle.release();
    });
}

void apr_model_free(apr_model* model) { delete model; }

int64_t apr_model_vocab_size(const apr_model* model) { return model ? model->model->config().vocab_size : 0; }

const char* apr_model_architecture(const apr_model* model) {
    return model ? model->model->config().architecture.c_str() : "";
}

int32_t apr_model_n_threads(const apr_model* model) { return model ? model->model->threads() : 0; }

int32_t apr_model_device(const apr_model* model) {
    return model ? static_cast<int32_t>(model->model->device()) : APR_DEVICE_CPU;
}

apr_status apr_model_get_config(const apr_model* model, apr_model_config* out) {
    return apr::capi::guarded([&] {
        require(out != nullptr, "apr_model_get_config: out is NULL");
        apr::capi::begin_output(out, "apr_model_get_config");
        require(model != nullptr, "apr_model_get_config: model is NULL");
        apr::capi::write_output(out, apr::capi::make_config(model->model->config()));
    });
}

apr_status apr_model_end_token_ids(const apr_model* model, const int32_t** out_ids, size_t* out_count) {
    if (out_ids) *out_ids = nullptr;
    if (out_count) *out_count = 0;
    return apr::capi::guarded([&] {
        require(model != nullptr && out_ids != nullptr && out_count != nullptr,
                "apr_model_end_token_ids: model, out_ids or out_count is NULL");
        const std::vector<int32_t>& ids = model->model->end_token_ids();
        *out_ids = ids.empty() ? nullptr : ids.data();
        *out_count = ids.size();
    });
}

}  // extern "C"
