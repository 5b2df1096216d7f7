// ModelFile's out-of-line members, metadata accessors and open_model_file's
// choice of reader.
#include "apr/model_file.hpp"
#include "apr/verify.hpp"

#include <limits>

#include "apr/hub.hpp"
#include "core/fail.hpp"
#include "core/mapped_file.hpp"
#include "formats/apr_reader.hpp"
#include "formats/gguf_reader.hpp"
#include "formats/hf_directory.hpp"
#include "formats/safetensors_reader.hpp"
#include "formats/source_sniffer.hpp"

namespace apr {

std::string_view file_format_name(FileFormat format) noexcept {
    switch (format) {
        case FileFormat::gguf: return "gguf";
        case FileFormat::safetensors: return "safetensors";
        case FileFormat::hf_directory: return "hf_directory";
        case FileFormat::apr: return "apr";
    }
    return "unknown";
}

ModelFile::ModelFile(FileFormat format, std::filesystem::path path) : format_(format), path_(std::move(path)) {}
ModelFile::~ModelFile() = default;

const TensorView* ModelFile::find_tensor(std::string_view name) const {
    const auto it = tensor_index_.find(name);
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const TensorView& ModelFile::tensor(std::string_view name) const {
    const TensorView* view = find_tensor(name);
    if (!view) fail(ErrorCode::not_found, "{}: no tensor named '{}'", path_.string(), name);
    return *view;
}

const MetaValue* ModelFile::find_metadata(std::string_view key) const {
    const auto it = metadata_.find(key);
    return it == metadata_.end() ? nullptr : &it->second;
}

void ModelFile::index_tensors() {
    tensor_index_.clear();
    for (size_t i = 0; i < tensors_.size(); ++i) {
        const auto [it, inserted] = tensor_index_.emplace(tensors_[i].name, i);
        if (!inserted)
            fail(ErrorCode::bad_format, "{}: tensors '{}' and '{}' both map to the name '{}'", path_.string(),
                 tensors_[it->second].source_name, tensors_[i].source_name, tensors_[i].name);
    }
}

std::optional<int64_t> meta_int(const MetaValue& value) noexcept {
    if (const auto* u = std::get_if<uint64_t>(&value.value)) {
        if (*u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
        return static_cast<int64_t>(*u);
    }
    if (const auto* i = std::get_if<int64_t>(&value.value)) return *i;
    if (const auto* b = std::get_if<bool>(&value.value)) return *b ? 1 : 0;
    return std::nullopt;
}

std::optional<double> meta_float(const MetaValue& value) noexcept {
    if (const auto* d = std::get_if<double>(&value.value)) return *d;
    if (const auto* u = std::get_if<uint64_t>(&value.value)) return static_cast<double>(*u);
    if (const auto* i = std::get_if<int64_t>(&value.value)) return static_cast<double>(*i);
    return std::nullopt;
}

std::optional<bool> meta_bool(const MetaValue& value) noexcept {
    if (const auto* b = std::get_if<bool>(&value.value)) return *b;
    return std::nullopt;
}

const std::string* meta_string(const MetaValue& value) noexcept { return std::get_if<std::string>(&value.value); }
const MetaArray* meta_array(const MetaValue& value) noexcept { return std::get_if<MetaArray>(&value.value); }

std::unique_ptr<ModelFile> open_model_file(const std::filesystem::path& source) {
    // hf:// URIs become cached local paths here, so every reader, command
    // and the C ABI accept them without code of their own.
    const std::filesystem::path path = hub::resolve_source(source);
    switch (formats::sniff_source(path)) {
        case formats::SourceKind::gguf: return formats::open_gguf(path);
        case formats::SourceKind::safetensors: return formats::open_safetensors_file(path);
        case formats::SourceKind::safetensors_index: return formats::open_safetensors_index(path);
        case formats::SourceKind::hf_directory: return formats::open_hf_directory(path);
        case formats::SourceKind::apr: return formats::open_apr(path);
    }
    fail(ErrorCode::internal, "{}: no reader chosen", path.string());
}

bool verify_model_file(const ModelFile& file) {
    if (file.format() != FileFormat::apr) return false;
    const MappedFile mapping(file.path());
    formats::verify_apr_footer(mapping.data(), mapping.size(), file.path().string());
    return true;
}

}  // namespace apr
