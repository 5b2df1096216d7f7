// C ABI: model files (open, config, tensor table, inspect JSON).
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "apr/error.hpp"
#include "apr/model_file.hpp"
#include "capi_internal.hpp"
#include "capi_layouts.hpp"

struct apr_model_file {
    std::unique_ptr<apr::ModelFile> file;
};

namespace {
using apr::capi::require;
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
        require(out != nullptr, "apr_model_file_config: out is NULL");
        apr::capi::begin_output(out, "apr_model_file_config");
        require(file != nullptr, "apr_model_file_config: file is NULL");
        apr::capi::write_output(out, apr::capi::make_config(file->file->config()));
    });
}

size_t apr_model_file_tensor_count(const apr_model_file* file) { return file ? file->file->tensors().size() : 0; }

apr_status apr_model_file_tensor_info(const apr_model_file* file, size_t index, apr_tensor_info* out) {
    return apr::capi::guarded([&] {
        require(out != nullptr, "apr_model_file_tensor_info: out is NULL");
        apr::capi::begin_output(out, "apr_model_file_tensor_info");
        require(file != nullptr, "apr_model_file_tensor_info: file is NULL");
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
        apr::capi::write_output(out, full);
    });
}

apr_status apr_model_file_inspect_json(const apr_model_file* file, char** out_json) {
    if (out_json) *out_json = nullptr;
    return apr::capi::guarded([&] {
        require(file != nullptr && out_json != nullptr, "apr_model_file_inspect_json: file or out_json is NULL");
        *out_json = apr::capi::copy_string(apr::inspect_json(*file->file));
    });
}

}  // extern "C"
