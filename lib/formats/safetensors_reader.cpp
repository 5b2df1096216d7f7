#include "formats/safetensors_reader.hpp"

#include <algorithm>
#include <cstring>
#include <set>

#include "core/fail.hpp"
#include "core/mapped_file.hpp"
#include "formats/hf_config.hpp"
#include "formats/json_file.hpp"
#include "formats/loaded_model_file.hpp"
#include "formats/tensor_names.hpp"

namespace apr::formats {
namespace {

constexpr uint64_t kMaxDimension = uint64_t{1} << 48;

DType parse_dtype(std::string_view name, std::string_view file, std::string_view tensor) {
    if (name == "F32") return DType::F32;
    if (name == "F16") return DType::F16;
    if (name == "BF16") return DType::BF16;
    fail(ErrorCode::unsupported, "{}: tensor '{}': dtype {} is not supported (F32, F16 and BF16 are)", file, tensor,
         name);
}

uint64_t read_u64(simdjson::dom::element element, std::string_view file, std::string_view tensor,
                  std::string_view field) {
    uint64_t value;
    if (element.get_uint64().get(value) != simdjson::SUCCESS)
        fail(ErrorCode::bad_format, "{}: tensor '{}': {} must hold non-negative integers", file, tensor, field);
    return value;
}

SafetensorsTensorInfo parse_entry(std::string_view name, simdjson::dom::element entry, std::string_view file,
                                  size_t data_size) {
    simdjson::dom::object object;
    if (entry.get_object().get(object) != simdjson::SUCCESS)
        fail(ErrorCode::bad_format, "{}: tensor '{}': header entry must be an object", file, name);
    SafetensorsTensorInfo info;
    info.name = std::string(name);
    const auto dtype = json_string(object, "dtype", file);
    if (!dtype) fail(ErrorCode::bad_format, "{}: tensor '{}': no dtype", file, name);
    info.dtype = parse_dtype(*dtype, file, name);

    const auto shape = json_array(object, "shape", file);
    if (!shape) fail(ErrorCode::bad_format, "{}: tensor '{}': no shape", file, name);
    if (shape->size() > 8) fail(ErrorCode::bad_format, "{}: tensor '{}': {} dimensions", file, name, shape->size());
    uint64_t elements = 1;
    for (simdjson::dom::element d : *shape) {
        const uint64_t dim = read_u64(d, file, name, "shape");
        if (dim > kMaxDimension) fail(ErrorCode::bad_format, "{}: tensor '{}': dimension {} is absurd", file, name, dim);
        if (dim != 0 && elements > (uint64_t{1} << 58) / dim)
            fail(ErrorCode::bad_format, "{}: tensor '{}': element count overflows", file, name);
        elements *= dim;
        info.shape.push_back(static_cast<int64_t>(dim));
    }

    const auto offsets = json_array(object, "data_offsets", file);
    if (!offsets || offsets->size() != 2)
        fail(ErrorCode::bad_format, "{}: tensor '{}': data_offsets must be [begin, end]", file, name);
    const uint64_t begin = read_u64(offsets->at(0).value_unsafe(), file, name, "data_offsets");
    const uint64_t end = read_u64(offsets->at(1).value_unsafe(), file, name, "data_offsets");
    if (begin > end) fail(ErrorCode::bad_format, "{}: tensor '{}': data_offsets [{}, {}] are reversed", file, name, begin, end);
    const uint64_t expected = elements * dtype_info(info.dtype)->block_bytes;
    if (end - begin != expected)
        fail(ErrorCode::bad_format, "{}: tensor '{}': data_offsets [{}, {}] hold {} bytes but {} x shape needs {}", file,
             name, begin, end, end - begin, *dtype, expected);
    if (end > data_size)
        fail(ErrorCode::bad_format, "{}: tensor '{}': data_offsets [{}, {}] run past the end of the data ({} bytes)",
             file, name, begin, end, data_size);
    info.begin = static_cast<size_t>(begin);
    info.nbytes = static_cast<size_t>(end - begin);
    return info;
}

}  // namespace

SafetensorsContents parse_safetensors(const std::byte* data, size_t size, std::string_view file) {
    if (size < 8) fail(ErrorCode::bad_format, "{}: file too short ({} bytes) to be SafeTensors", file, size);
    uint64_t header_length = 0;
    std::memcpy(&header_length, data, 8);
    if (header_length > kSafetensorsMaxHeaderBytes)
        fail(ErrorCode::bad_format, "{}: header length {} exceeds the SafeTensors limit of {} bytes", file,
             header_length, kSafetensorsMaxHeaderBytes);
    if (header_length > size - 8)
        fail(ErrorCode::bad_format, "{}: header length {} runs past the end of the file ({} bytes)", file,
             header_length, size);
    SafetensorsContents out;
    out.data_offset = 8 + static_cast<size_t>(header_length);
    const size_t data_size = size - out.data_offset;
    const JsonDocument header = JsonDocument::parse(
        std::string_view(reinterpret_cast<const char*>(data) + 8, static_cast<size_t>(header_length)),
        std::string(file) + " (header)");
    const simdjson::dom::object root = header.root_object();
    std::set<std::string_view> seen;
    for (const auto field : root) {
        if (field.key == "__metadata__") continue;
        if (!seen.insert(field.key).second)
            fail(ErrorCode::bad_format, "{}: tensor '{}' appears twice in the header", file, field.key);
        out.tensors.push_back(parse_entry(field.key, field.value, file, data_size));
    }
    std::vector<const SafetensorsTensorInfo*> by_offset;
    for (const auto& t : out.tensors) by_offset.push_back(&t);
    std::sort(by_offset.begin(), by_offset.end(), [](const auto* a, const auto* b) { return a->begin < b->begin; });
    for (size_t i = 1; i < by_offset.size(); ++i) {
        const auto* prev = by_offset[i - 1];
        const auto* cur = by_offset[i];
        if (cur->begin < prev->begin + prev->nbytes)
            fail(ErrorCode::bad_format, "{}: tensor '{}' (bytes {}..{}) overlaps tensor '{}' (bytes {}..{})", file,
                 cur->name, cur->begin, cur->begin + cur->nbytes, prev->name, prev->begin, prev->begin + prev->nbytes);
    }
    return out;
}

std::vector<std::string> append_safetensors(LoadedModelFile& model, const std::filesystem::path& path,
                                            const std::map<std::string, std::string>* only,
                                            const std::string& shard_name) {
    auto mapping = std::make_shared<const MappedFile>(path);
    const SafetensorsContents contents = parse_safetensors(mapping->data(), mapping->size(), path.string());
    std::vector<std::string> appended;
    for (const auto& info : contents.tensors) {
        if (only) {
            const auto it = only->find(info.name);
            if (it == only->end() || it->second != shard_name) continue;
        }
        TensorView view;
        view.name = canonical_tensor_name(info.name);
        view.source_name = info.name;
        view.dtype = info.dtype;
        view.shape = info.shape;
        view.data = mapping->data() + contents.data_offset + info.begin;
        view.nbytes = info.nbytes;
        model.mutable_tensors().push_back(std::move(view));
        appended.push_back(info.name);
    }
    model.keep_mapping(std::move(mapping));
    return appended;
}

void append_safetensors_index(LoadedModelFile& model, const std::filesystem::path& index_path) {
    const std::string file = index_path.string();
    const JsonDocument index = JsonDocument::load(index_path);
    const auto weight_map = json_object(index.root_object(), "weight_map", file);
    if (!weight_map) fail(ErrorCode::bad_format, "{}: no weight_map", file);
    std::map<std::string, std::string> owner;  // tensor -> shard file
    for (const auto field : *weight_map) {
        std::string_view shard;
        if (field.value.get_string().get(shard) != simdjson::SUCCESS)
            fail(ErrorCode::bad_format, "{}: weight_map['{}'] must be a file name", file, field.key);
        if (shard.empty() || shard.find('/') != std::string_view::npos || shard.find('\\') != std::string_view::npos ||
            shard == "." || shard == "..")
            fail(ErrorCode::bad_format, "{}: weight_map['{}'] = '{}' is not a file name in the same folder", file,
                 field.key, shard);
        owner.emplace(std::string(field.key), std::string(shard));
    }
    std::set<std::string> shards;
    for (const auto& [tensor, shard] : owner) shards.insert(shard);
    const std::filesystem::path folder = index_path.parent_path();
    std::set<std::string> found;
    for (const auto& shard : shards) {
        const auto shard_path = folder / shard;
        std::error_code ec;
        if (!std::filesystem::exists(shard_path, ec))
            fail(ErrorCode::not_found, "{}: shard '{}' listed in the index does not exist", file, shard);
        for (auto& name : append_safetensors(model, shard_path, &owner, shard)) found.insert(std::move(name));
    }
    for (const auto& [tensor, shard] : owner)
        if (!found.count(tensor))
            fail(ErrorCode::bad_format, "{}: tensor '{}' is listed in shard '{}' but that shard does not contain it",
                 file, tensor, shard);
}

namespace {

std::unique_ptr<ModelFile> finish_lone_safetensors(std::unique_ptr<LoadedModelFile> model,
                                                   const std::filesystem::path& path) {
    model->finish_tensors();
    HfConfig config;
    std::error_code ec;
    if (std::filesystem::exists(path.parent_path() / "config.json", ec)) config = read_hf_config(path.parent_path());
    apply_tensor_facts(config, *model);
    model->mutable_config() = std::move(config.config);
    return model;
}

}  // namespace

std::unique_ptr<ModelFile> open_safetensors_file(const std::filesystem::path& path) {
    auto model = std::make_unique<LoadedModelFile>(FileFormat::safetensors, path);
    append_safetensors(*model, path);
    return finish_lone_safetensors(std::move(model), path);
}

std::unique_ptr<ModelFile> open_safetensors_index(const std::filesystem::path& path) {
    auto model = std::make_unique<LoadedModelFile>(FileFormat::safetensors, path);
    append_safetensors_index(*model, path);
    return finish_lone_safetensors(std::move(model), path);
}

}  // namespace apr::formats
