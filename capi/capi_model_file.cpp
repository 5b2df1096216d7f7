// C ABI: model files (open, config, tensor table, inspect JSON).
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "apr/error.hpp"
#include "apr/model_file.hpp"
#include "capi_internal.hpp"

struct apr_model_file {
    std::unique_ptr<apr::ModelFile> file;
};

namespace {

void require(bool ok, const char* what) {
    if (!ok) throw apr::Error(apr::ErrorCode::invalid_argument, what);
}

// Copies the first min(struct_size, sizeof) bytes of `full` into `out`, so
// callers compiled against an older, shorter struct keep working.
template <typename T>
void copy_sized(const T& full, T* out) {
    require(out->struct_size >= sizeof(size_t), "struct_size must be set to sizeof the struct");
    const size_t n = out->struct_size < sizeof(T) ? out->struct_size : sizeof(T);
    const size_t caller_size = out->struct_size;
    std::memcpy(static_cast<void*>(out), &full, n);
    out->struct_size = caller_size;
}

}  // namespace

extern "C" {

apr_status apr_model_file_open(const char* path, apr_model_file** out) {
    if (out) *out = nullptr;
    return apr::capi::guarded([&] {
        require(path != nullptr, "apr_model_file_open: path is NULL");
        require(out != nullptr, "apr_model_file_open: out is NULL");
        auto handle = std::make_unique<apr_model_file>();
        handle->file = apr::open_model_file(path);
        *out = handle.release();
    });
}

void apr_model_file_free(apr_model_file* file) { delete file; }

const char* apr_model_file_format(const apr_model_file* file) {
    if (!file) return "";
    return apr::file_format_name(file->file->format()).data();  // the names are string literals
}

const char* apr_model_file_architecture(const apr_model_file* file) {
    if (!file) return "";
    return file->file->config().architecture.c_str();
}

apr_status apr_model_file_config(const apr_model_file* file, apr_model_config* out) {
    return apr::capi::guarded([&] {
        require(file != nullptr && out != nullptr, "apr_model_file_config: file or out is NULL");
        const apr::ModelConfig& c = file->file->config();
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
        copy_sized(full, out);
    });
}

size_t apr_model_file_tensor_count(const apr_model_file* file) { return file ? file->file->tensors().size() : 0; }

apr_status apr_model_file_tensor_info(const apr_model_file* file, size_t index, apr_tensor_info* out) {
    return apr::capi::guarded([&] {
        require(file != nullptr && out != nullptr, "apr_model_file_tensor_info: file or out is NULL");
        const auto& tensors = file->file->tensors();
        if (index >= tensors.size())
            throw apr::Error(apr::ErrorCode::invalid_argument,
                             "apr_model_file_tensor_info: index " + std::to_string(index) + " is past the " +
                                 std::to_string(tensors.size()) + " tensors");
        const apr::TensorView& t = tensors[index];
        apr_tensor_info full{};
        full.struct_size = sizeof(full);
        full.name = t.name.c_str();
        full.source_name = t.source_name.c_str();
        full.type = apr::dtype_name(t.dtype).data();  // string literals
        full.n_dims = static_cast<int32_t>(t.shape.size());
        for (size_t d = 0; d < t.shape.size() && d < 8; ++d) full.shape[d] = t.shape[d];
        full.n_bytes = t.nbytes;
        copy_sized(full, out);
    });
}

apr_status apr_model_file_inspect_json(const apr_model_file* file, char** out_json) {
    if (out_json) *out_json = nullptr;
    return apr::capi::guarded([&] {
        require(file != nullptr && out_json != nullptr, "apr_model_file_inspect_json: file or out_json is NULL");
        const std::string json = apr::inspect_json(*file->file);
        char* text = static_cast<char*>(std::malloc(json.size() + 1));
        if (!text) throw std::bad_alloc();
        std::memcpy(text, json.c_str(), json.size() + 1);
        *out_json = text;
    });
}

void apr_string_free(char* text) { std::free(text); }

}  // extern "C"
