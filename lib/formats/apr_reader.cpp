#include "formats/apr_reader.hpp"

#include <algorithm>
#include <cstring>

#include "core/crc32.hpp"
#include "core/fail.hpp"
#include "core/mapped_file.hpp"
#include "formats/apr_metadata.hpp"
#include "formats/byte_cursor.hpp"
#include "formats/loaded_model_file.hpp"

namespace apr::formats {
namespace {

template <typename T>
T load(const std::byte* p) {
    T v;
    std::memcpy(&v, p, sizeof(T));
    return v;
}

AprHeader read_header(const std::byte* data, size_t size, std::string_view file) {
    if (size < kAprHeaderSize + kAprFooterSize)
        fail(ErrorCode::bad_format, "{}: truncated: {} bytes cannot hold an APR header (64 bytes) and footer (4 bytes)",
             file, size);
    if (std::memcmp(data, kAprMagic, 4) != 0)
        fail(ErrorCode::bad_format, "{}: wrong magic: not an APR file (expected \"APR\\0\")", file);
    AprHeader h;
    h.major = load<uint8_t>(data + 4);
    h.minor = load<uint8_t>(data + 5);
    h.flags = load<uint16_t>(data + 6);
    h.tensor_count = load<uint32_t>(data + 8);
    h.metadata_offset = load<uint64_t>(data + 12);
    h.metadata_size = load<uint32_t>(data + 20);
    h.tensor_index_offset = load<uint64_t>(data + 24);
    h.data_offset = load<uint64_t>(data + 32);
    h.checksum = load<uint32_t>(data + kAprChecksumOffset);
    const uint32_t crc = apr_header_crc(data);
    if (crc != h.checksum)
        fail(ErrorCode::bad_format, "{}: header checksum: stored 0x{:08x} but the header bytes give 0x{:08x} "
             "(the header is damaged)", file, h.checksum, crc);
    if (h.major != kAprVersionMajor)
        fail(ErrorCode::unsupported, "{}: APR version {}.{} is not supported (only 2.x)", file, h.major, h.minor);
    if ((h.flags & ~kAprKnownFlags) != 0)
        fail(ErrorCode::unsupported, "{}: header flags 0x{:04x}: compression, encryption and sharding are not supported",
             file, h.flags);
    const uint64_t body_end = size - kAprFooterSize;
    if (h.metadata_offset < kAprHeaderSize || h.metadata_offset > body_end)
        fail(ErrorCode::bad_format, "{}: metadata offset {} is outside the file ({} bytes before the footer)", file,
             h.metadata_offset, body_end);
    if (h.metadata_size > kAprMaxMetadataBytes)
        fail(ErrorCode::bad_format, "{}: metadata size {} exceeds the limit of {} bytes", file, h.metadata_size,
             kAprMaxMetadataBytes);
    if (h.metadata_size > body_end - h.metadata_offset)
        fail(ErrorCode::bad_format, "{}: metadata size {} at offset {} runs past the end of the file", file,
             h.metadata_size, h.metadata_offset);
    const uint64_t metadata_end = h.metadata_offset + h.metadata_size;
    if (h.tensor_index_offset < metadata_end || h.tensor_index_offset > body_end)
        fail(ErrorCode::bad_format, "{}: tensor index offset {} is not between the metadata's end ({}) and the footer "
             "({})", file, h.tensor_index_offset, metadata_end, body_end);
    if (h.data_offset < h.tensor_index_offset || h.data_offset > body_end)
        fail(ErrorCode::bad_format, "{}: data offset {} is not between the tensor index ({}) and the footer ({})", file,
             h.data_offset, h.tensor_index_offset, body_end);
    if (h.data_offset % kAprAlignment != 0)
        fail(ErrorCode::bad_format, "{}: data offset {} is not a multiple of {}", file, h.data_offset, kAprAlignment);
    return h;
}

AprTensorEntry read_entry(ByteCursor& in, const AprHeader& h, size_t data_size, uint32_t i, std::string_view file) {
    AprTensorEntry t;
    const uint16_t name_length = in.read<uint16_t>("tensor index: name length");
    const std::string_view name = in.read_bytes(name_length, "tensor index: name");
    if (name.empty() || !is_valid_utf8(name))
        fail(ErrorCode::bad_format, "{}: tensor index entry {}: the name is empty or not UTF-8", file, i);
    t.name = std::string(name);
    const uint8_t type_id = in.read<uint8_t>("tensor index: dtype");
    const DTypeInfo* info = dtype_info_from_id(type_id);
    if (!info) fail(ErrorCode::unsupported, "{}: tensor '{}': unknown dtype id {}", file, t.name, type_id);
    t.dtype = info->type;
    const uint8_t ndim = in.read<uint8_t>("tensor index: ndim");
    if (ndim == 0 || ndim > kAprMaxDims)
        fail(ErrorCode::bad_format, "{}: tensor '{}': {} dimensions (1 to {})", file, t.name, ndim, kAprMaxDims);
    int64_t elements = 1;
    for (uint8_t d = 0; d < ndim; ++d) {
        const uint64_t dim = in.read<uint64_t>("tensor index: dimension");
        if (dim > (uint64_t{1} << 62) || (dim > 0 && static_cast<uint64_t>(elements) > (uint64_t{1} << 62) / dim))
            fail(ErrorCode::bad_format, "{}: tensor '{}': dimension {} = {} is too large", file, t.name, d, dim);
        elements *= static_cast<int64_t>(dim);
        t.shape.push_back(static_cast<int64_t>(dim));
    }
    const uint64_t offset = in.read<uint64_t>("tensor index: offset");
    const uint64_t nbytes = in.read<uint64_t>("tensor index: size");
    if (t.shape.back() % info->block_elements != 0)
        fail(ErrorCode::bad_format, "{}: tensor '{}': row length {} is not a multiple of the {} block size {}", file,
             t.name, t.shape.back(), info->name, info->block_elements);
    const size_t expected = dtype_bytes(t.dtype, elements);
    if (nbytes != expected)
        fail(ErrorCode::bad_format, "{}: tensor '{}': size {} bytes but {} x {} elements needs {}", file, t.name, nbytes,
             info->name, elements, expected);
    if (offset % kAprAlignment != 0)
        fail(ErrorCode::bad_format, "{}: tensor '{}': data offset {} is not a multiple of {}", file, t.name, offset,
             kAprAlignment);
    if (offset > data_size || nbytes > data_size - offset)
        fail(ErrorCode::bad_format, "{}: tensor '{}': data offset {} + {} bytes runs past the data section ({} bytes)",
             file, t.name, offset, nbytes, data_size);
    t.offset = h.data_offset + offset;
    t.nbytes = static_cast<size_t>(nbytes);
    return t;
}

}  // namespace

AprContents parse_apr(const std::byte* data, size_t size, std::string_view file) {
    AprContents out;
    out.header = read_header(data, size, file);
    const AprHeader& h = out.header;
    out.metadata_json = std::string_view(reinterpret_cast<const char*>(data + h.metadata_offset), h.metadata_size);
    const size_t data_size = size - kAprFooterSize - h.data_offset;
    ByteCursor in(data + h.tensor_index_offset, h.data_offset - h.tensor_index_offset, file);
    // Each entry takes at least 2 + 1 + 1 + 1 + 8 + 8 + 8 bytes.
    if (h.tensor_count > in.size() / 29)
        fail(ErrorCode::bad_format, "{}: tensor count {} cannot fit in the {}-byte tensor index", file, h.tensor_count,
             in.size());
    out.tensors.reserve(h.tensor_count);
    for (uint32_t i = 0; i < h.tensor_count; ++i) {
        out.tensors.push_back(read_entry(in, h, data_size, i, file));
        if (i > 0 && !(out.tensors[i - 1].name < out.tensors[i].name))
            fail(ErrorCode::bad_format, "{}: tensor index is not sorted by name: '{}' follows '{}'{}", file,
                 out.tensors[i].name, out.tensors[i - 1].name,
                 out.tensors[i - 1].name == out.tensors[i].name ? " (a duplicate)" : "");
    }
    std::vector<const AprTensorEntry*> by_offset;
    for (const auto& t : out.tensors) by_offset.push_back(&t);
    std::sort(by_offset.begin(), by_offset.end(),
              [](const AprTensorEntry* a, const AprTensorEntry* b) { return a->offset < b->offset; });
    for (size_t i = 1; i < by_offset.size(); ++i)
        if (by_offset[i - 1]->offset + by_offset[i - 1]->nbytes > by_offset[i]->offset)
            fail(ErrorCode::bad_format, "{}: tensors '{}' and '{}' overlap in the data section", file,
                 by_offset[i - 1]->name, by_offset[i]->name);
    return out;
}

void verify_apr_footer(const std::byte* data, size_t size, std::string_view file) {
    if (size < kAprHeaderSize + kAprFooterSize)
        fail(ErrorCode::bad_format, "{}: truncated: too small for an APR footer", file);
    const uint32_t stored = load<uint32_t>(data + size - kAprFooterSize);
    const uint32_t actual = crc32(data, size - kAprFooterSize);
    if (stored != actual)
        fail(ErrorCode::bad_format, "{}: footer checksum: stored 0x{:08x} but the file's bytes give 0x{:08x} "
             "(the file is damaged or truncated)", file, stored, actual);
}

std::unique_ptr<ModelFile> open_apr(const std::filesystem::path& path) {
    auto mapping = std::make_shared<const MappedFile>(path);
    const std::string file = path.string();
    const AprContents contents = parse_apr(mapping->data(), mapping->size(), file);
    auto model = std::make_unique<LoadedModelFile>(FileFormat::apr, path);
    for (const auto& t : contents.tensors) {
        TensorView view;
        view.name = t.name;
        view.source_name = t.name;
        view.dtype = t.dtype;
        view.shape = t.shape;
        view.data = mapping->data() + t.offset;
        view.nbytes = t.nbytes;
        model->mutable_tensors().push_back(std::move(view));
    }
    model->finish_tensors();
    apply_apr_metadata(*model, contents.metadata_json, file);
    model->keep_mapping(std::move(mapping));
    return model;
}

}  // namespace apr::formats
