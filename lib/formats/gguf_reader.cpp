#include "formats/gguf_reader.hpp"

#include <algorithm>
#include <limits>

#include "core/fail.hpp"
#include "core/mapped_file.hpp"
#include "formats/byte_cursor.hpp"
#include "formats/gguf_config.hpp"
#include "formats/loaded_model_file.hpp"

namespace apr::formats {
namespace {

// Limits that only a corrupt file exceeds; they keep a bad count from
// turning into a huge allocation or a long loop.
constexpr uint64_t kMaxKeyBytes = 65535;       // the GGUF spec's key limit
constexpr uint64_t kMaxTensorNameBytes = 4096;  // ggml uses 64; leave room for other writers
constexpr uint64_t kMaxDimension = uint64_t{1} << 48;

size_t scalar_size(uint32_t type) {
    switch (static_cast<MetaType>(type)) {
        case MetaType::uint8: case MetaType::int8: case MetaType::boolean: return 1;
        case MetaType::uint16: case MetaType::int16: return 2;
        case MetaType::uint32: case MetaType::int32: case MetaType::float32: return 4;
        case MetaType::uint64: case MetaType::int64: case MetaType::float64: return 8;
        default: return 0;
    }
}

// Smallest encoding of one value of `type`: bounds how many array elements
// the remaining bytes could possibly hold.
size_t min_encoded_size(uint32_t type) {
    if (type == static_cast<uint32_t>(MetaType::string)) return 8;  // length only
    if (type == static_cast<uint32_t>(MetaType::array)) return 12;  // element type + count
    return scalar_size(type);
}

class GgufParser {
public:
    GgufParser(const std::byte* data, size_t size, std::string_view file) : in_(data, size, file), file_(file) {}

    GgufContents parse() {
        GgufContents out;
        if (in_.size() < 4) fail(ErrorCode::bad_format, "{}: file too short ({} bytes) to be GGUF", file_, in_.size());
        const auto magic = in_.read<uint32_t>("magic");
        if (magic != kGgufMagic) fail(ErrorCode::bad_format, "{}: not a GGUF file (wrong magic)", file_);
        out.version = in_.read<uint32_t>("version");
        if (out.version != 2 && out.version != 3)
            fail(ErrorCode::unsupported, "{}: GGUF version {} is not supported (only 2 and 3)", file_, out.version);
        const auto tensor_count = in_.read<uint64_t>("tensor count");
        const auto kv_count = in_.read<uint64_t>("metadata count");
        // Each key/value takes at least 13 bytes and each tensor info 24.
        if (kv_count > in_.remaining() / 13)
            fail(ErrorCode::bad_format, "{}: metadata count {} is impossible for a {}-byte file", file_, kv_count,
                 in_.size());
        if (tensor_count > in_.remaining() / 24)
            fail(ErrorCode::bad_format, "{}: tensor count {} is impossible for a {}-byte file", file_, tensor_count,
                 in_.size());

        for (uint64_t i = 0; i < kv_count; ++i) read_key_value(out.metadata, i);
        out.alignment = read_alignment(out.metadata);

        out.tensors.reserve(static_cast<size_t>(tensor_count));
        for (uint64_t i = 0; i < tensor_count; ++i) out.tensors.push_back(read_tensor_info(i, out.alignment));

        const size_t infos_end = in_.offset();
        const size_t padded = (infos_end + out.alignment - 1) / out.alignment * out.alignment;
        if (out.tensors.empty()) {
            out.data_offset = std::min(padded, in_.size());  // vocab-only files may end without padding
        } else {
            if (padded > in_.size())
                fail(ErrorCode::bad_format, "{}: truncated: the data section would start at offset {} past the end of "
                     "the file ({} bytes)", file_, padded, in_.size());
            out.data_offset = padded;
        }
        check_tensor_ranges(out);
        return out;
    }

private:
    std::string read_string(std::string_view what, uint64_t max_bytes) {
        const auto length = in_.read<uint64_t>(what);
        if (length > max_bytes)
            fail(ErrorCode::bad_format, "{}: {} length {} at offset {} exceeds the limit of {} bytes", file_, what,
                 length, in_.offset() - 8, max_bytes);
        if (length > in_.remaining())
            fail(ErrorCode::bad_format, "{}: {} length {} at offset {} runs past the end of the file ({} bytes)",
                 file_, what, length, in_.offset() - 8, in_.size());
        return std::string(in_.read_bytes(length, what));
    }

    void read_key_value(Metadata& metadata, uint64_t index) {
        const size_t key_offset = in_.offset();
        std::string key = read_string(fmt::format("metadata key #{}", index), kMaxKeyBytes);
        if (key.empty()) fail(ErrorCode::bad_format, "{}: metadata key #{} at offset {} is empty", file_, index, key_offset);
        if (!is_valid_utf8(key))
            fail(ErrorCode::bad_format, "{}: metadata key #{} at offset {} is not valid UTF-8", file_, index, key_offset);
        if (metadata.count(key))
            fail(ErrorCode::bad_format, "{}: metadata key '{}' appears twice", file_, key);
        const auto type = in_.read<uint32_t>(key);
        MetaValue value = read_value(type, key, 0);
        metadata.emplace(std::move(key), std::move(value));
    }

    MetaValue read_value(uint32_t type, const std::string& key, int depth) {
        MetaValue value;
        value.type = type;
        switch (static_cast<MetaType>(type)) {
            case MetaType::uint8: value.value = uint64_t{in_.read<uint8_t>(key)}; break;
            case MetaType::uint16: value.value = uint64_t{in_.read<uint16_t>(key)}; break;
            case MetaType::uint32: value.value = uint64_t{in_.read<uint32_t>(key)}; break;
            case MetaType::uint64: value.value = in_.read<uint64_t>(key); break;
            case MetaType::int8: value.value = int64_t{in_.read<int8_t>(key)}; break;
            case MetaType::int16: value.value = int64_t{in_.read<int16_t>(key)}; break;
            case MetaType::int32: value.value = int64_t{in_.read<int32_t>(key)}; break;
            case MetaType::int64: value.value = in_.read<int64_t>(key); break;
            case MetaType::float32: value.value = double{in_.read<float>(key)}; break;
            case MetaType::float64: value.value = in_.read<double>(key); break;
            case MetaType::boolean: {
                const auto byte = in_.read<uint8_t>(key);
                if (byte > 1)
                    fail(ErrorCode::bad_format, "{}: metadata '{}': boolean byte is {}, not 0 or 1", file_, key, byte);
                value.value = byte == 1;
                break;
            }
            case MetaType::string: value.value = read_string(fmt::format("metadata '{}' string", key), in_.size()); break;
            case MetaType::array: value = read_array(key, depth); break;
            default:
                fail(ErrorCode::bad_format, "{}: metadata '{}' has unknown value type {} at offset {}", file_, key, type,
                     in_.offset() - 4);
        }
        return value;
    }

    MetaValue read_array(const std::string& key, int depth) {
        if (depth >= kGgufMaxArrayDepth)
            fail(ErrorCode::bad_format, "{}: metadata '{}': arrays nested deeper than {} levels", file_, key,
                 kGgufMaxArrayDepth);
        const auto element_type = in_.read<uint32_t>(key);
        const size_t min_size = min_encoded_size(element_type);
        if (min_size == 0)
            fail(ErrorCode::bad_format, "{}: metadata '{}': array has unknown element type {}", file_, key,
                 element_type);
        const auto count = in_.read<uint64_t>(key);
        if (count > in_.remaining() / min_size)
            fail(ErrorCode::bad_format, "{}: metadata '{}': array length {} cannot fit in the {} bytes left in the file",
                 file_, key, count, in_.remaining());
        MetaValue value;
        value.type = static_cast<uint32_t>(MetaType::array);
        value.element_type = element_type;
        MetaArray items;
        items.reserve(static_cast<size_t>(count));
        for (uint64_t i = 0; i < count; ++i) items.push_back(read_value(element_type, key, depth + 1));
        value.value = std::move(items);
        return value;
    }

    uint32_t read_alignment(const Metadata& metadata) {
        const auto it = metadata.find("general.alignment");
        if (it == metadata.end()) return kGgufDefaultAlignment;
        const auto alignment = meta_int(it->second);
        if (!alignment || *alignment <= 0 || *alignment > (int64_t{1} << 30) || (*alignment & (*alignment - 1)) != 0)
            fail(ErrorCode::bad_format, "{}: general.alignment must be a power of two integer (up to 2^30)", file_);
        return static_cast<uint32_t>(*alignment);
    }

    GgufTensorInfo read_tensor_info(uint64_t index, uint32_t alignment) {
        GgufTensorInfo info;
        const size_t name_offset = in_.offset();
        info.name = read_string(fmt::format("tensor #{} name", index), kMaxTensorNameBytes);
        if (info.name.empty() || !is_valid_utf8(info.name))
            fail(ErrorCode::bad_format, "{}: tensor #{} at offset {} has an empty or non-UTF-8 name", file_, index,
                 name_offset);
        const std::string& name = info.name;
        const auto n_dims = in_.read<uint32_t>(name);
        if (n_dims == 0 || n_dims > kGgufMaxDims)
            fail(ErrorCode::bad_format, "{}: tensor '{}': {} dimensions (GGUF allows 1 to {})", file_, name, n_dims,
                 kGgufMaxDims);
        std::vector<int64_t> dims;  // innermost first, as stored
        uint64_t elements = 1;
        for (uint32_t d = 0; d < n_dims; ++d) {
            const auto dim = in_.read<uint64_t>(name);
            if (dim > kMaxDimension)
                fail(ErrorCode::bad_format, "{}: tensor '{}': dimension {} is {}, which is absurd", file_, name, d, dim);
            if (dim != 0 && elements > (uint64_t{1} << 62) / dim)
                fail(ErrorCode::bad_format, "{}: tensor '{}': element count overflows", file_, name);
            elements *= dim;
            dims.push_back(static_cast<int64_t>(dim));
        }
        info.shape.assign(dims.rbegin(), dims.rend());
        const auto type_id = in_.read<uint32_t>(name);
        const DTypeInfo* type = dtype_info_from_id(type_id);
        if (!type) fail(ErrorCode::unsupported, "{}: tensor '{}': unknown tensor type id {}", file_, name, type_id);
        info.dtype = type->type;
        if (dims[0] % type->block_elements != 0)
            fail(ErrorCode::bad_format, "{}: tensor '{}': row length {} is not a multiple of the {}-value blocks of {}",
                 file_, name, dims[0], type->block_elements, type->name);
        info.nbytes = static_cast<size_t>(elements / type->block_elements) * type->block_bytes;
        info.offset = in_.read<uint64_t>(name);
        if (info.offset % alignment != 0)
            fail(ErrorCode::bad_format, "{}: tensor '{}': data offset {} is not a multiple of the alignment {}", file_,
                 name, info.offset, alignment);
        return info;
    }

    void check_tensor_ranges(const GgufContents& out) {
        const size_t data_size = in_.size() - out.data_offset;
        for (const auto& t : out.tensors) {
            if (t.offset > data_size || t.nbytes > data_size - t.offset)
                fail(ErrorCode::bad_format,
                     "{}: tensor '{}': data offset {} + {} bytes runs past the end of the file ({} bytes)", file_,
                     t.name, out.data_offset + t.offset, t.nbytes, in_.size());
        }
        std::vector<const GgufTensorInfo*> by_offset;
        for (const auto& t : out.tensors) by_offset.push_back(&t);
        std::sort(by_offset.begin(), by_offset.end(),
                  [](const auto* a, const auto* b) { return a->offset < b->offset; });
        for (size_t i = 1; i < by_offset.size(); ++i) {
            const auto* prev = by_offset[i - 1];
            const auto* cur = by_offset[i];
            if (prev->name == cur->name) continue;  // reported as a duplicate below
            if (cur->offset < prev->offset + prev->nbytes)
                fail(ErrorCode::bad_format, "{}: tensor '{}' (offset {}) overlaps tensor '{}' (offset {}, {} bytes)",
                     file_, cur->name, cur->offset, prev->name, prev->offset, prev->nbytes);
        }
        std::vector<std::string_view> names;
        for (const auto& t : out.tensors) names.push_back(t.name);
        std::sort(names.begin(), names.end());
        const auto dup = std::adjacent_find(names.begin(), names.end());
        if (dup != names.end()) fail(ErrorCode::bad_format, "{}: tensor '{}' appears twice", file_, *dup);
    }

    ByteCursor in_;
    std::string_view file_;
};

}  // namespace

GgufContents parse_gguf(const std::byte* data, size_t size, std::string_view file) {
    return GgufParser(data, size, file).parse();
}

std::unique_ptr<ModelFile> open_gguf(const std::filesystem::path& path) {
    auto mapping = std::make_shared<const MappedFile>(path);
    const std::string file = path.string();
    GgufContents contents = parse_gguf(mapping->data(), mapping->size(), file);

    auto model = std::make_unique<LoadedModelFile>(FileFormat::gguf, path);
    auto& tensors = model->mutable_tensors();
    tensors.reserve(contents.tensors.size());
    for (auto& info : contents.tensors) {
        TensorView view;
        view.name = info.name;  // GGUF's names are libapr's canonical names
        view.source_name = std::move(info.name);
        view.dtype = info.dtype;
        view.shape = std::move(info.shape);
        view.data = mapping->data() + contents.data_offset + info.offset;
        view.nbytes = info.nbytes;
        tensors.push_back(std::move(view));
    }
    model->mutable_metadata() = std::move(contents.metadata);
    model->finish_tensors();
    model->mutable_config() = config_from_gguf(model->metadata(), model->tensors(), file);
    model->mutable_tokenizer_summary() = tokenizer_summary_from_gguf(model->metadata(), file);
    model->keep_mapping(std::move(mapping));
    return model;
}

}  // namespace apr::formats
