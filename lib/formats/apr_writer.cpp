#include "formats/apr_writer.hpp"

#include <algorithm>
#include <cstring>

#include "core/atomic_file.hpp"
#include "core/crc32.hpp"
#include "core/fail.hpp"
#include "formats/apr_layout.hpp"
#include "formats/byte_cursor.hpp"

namespace apr::formats {
namespace {

template <typename T>
void put(std::vector<std::byte>& out, T value) {
    const size_t at = out.size();
    out.resize(at + sizeof(T));
    std::memcpy(out.data() + at, &value, sizeof(T));
}

void put_bytes(std::vector<std::byte>& out, const void* data, size_t size) {
    const auto* p = static_cast<const std::byte*>(data);
    out.insert(out.end(), p, p + size);
}

}  // namespace

uint32_t apr_header_crc(const std::byte* header) {
    const uint32_t crc = crc32_update(0, header, kAprChecksumOffset);
    return crc32_update(crc, header + kAprChecksumOffset + 4, kAprHeaderSize - kAprChecksumOffset - 4);
}

void AprWriter::set_metadata(std::string json) {
    if (json.size() > kAprMaxMetadataBytes)
        fail(ErrorCode::invalid_argument, "APR writer: metadata of {} bytes exceeds the format's limit of {} bytes",
             json.size(), kAprMaxMetadataBytes);
    metadata_ = std::move(json);
}

size_t AprWriter::check_tensor(const std::string& name, DType type, const std::vector<int64_t>& shape) const {
    if (name.empty() || name.size() > 0xFFFF || !is_valid_utf8(name))
        fail(ErrorCode::invalid_argument, "APR writer: tensor name '{}' is empty, longer than 65535 bytes or not UTF-8",
             name);
    for (const auto& t : tensors_)
        if (t.name == name) fail(ErrorCode::invalid_argument, "APR writer: tensor '{}' added twice", name);
    if (shape.empty() || shape.size() > kAprMaxDims)
        fail(ErrorCode::invalid_argument, "APR writer: tensor '{}' has {} dimensions (1 to {})", name, shape.size(),
             kAprMaxDims);
    int64_t elements = 1;
    for (int64_t d : shape) {
        if (d < 0 || (d > 0 && elements > (int64_t{1} << 62) / d))
            fail(ErrorCode::invalid_argument, "APR writer: tensor '{}' has a bad dimension {}", name, d);
        elements *= d;
    }
    const DTypeInfo* info = dtype_info(type);
    if (!info || static_cast<uint32_t>(type) > 0xFF)
        fail(ErrorCode::invalid_argument, "APR writer: tensor '{}' has an unknown type", name);
    if (shape.back() % info->block_elements != 0)
        fail(ErrorCode::invalid_argument, "APR writer: tensor '{}': row length {} is not a multiple of {} for {}",
             name, shape.back(), info->block_elements, info->name);
    return dtype_bytes(type, elements);
}

void AprWriter::add_tensor(const std::string& name, DType type, std::vector<int64_t> shape,
                           std::span<const std::byte> data) {
    const size_t nbytes = check_tensor(name, type, shape);
    if (data.size() != nbytes)
        fail(ErrorCode::invalid_argument, "APR writer: tensor '{}' needs {} bytes, got {}", name, nbytes, data.size());
    tensors_.push_back(Tensor{name, type, std::move(shape), nbytes,
                              [data](std::span<std::byte> out) { std::memcpy(out.data(), data.data(), out.size()); }});
}

void AprWriter::add_tensor(const std::string& name, DType type, std::vector<int64_t> shape, Producer producer) {
    const size_t nbytes = check_tensor(name, type, shape);
    tensors_.push_back(Tensor{name, type, std::move(shape), nbytes, std::move(producer)});
}

AprLayout AprWriter::write(const std::filesystem::path& path, bool overwrite, const AprWriteProgress& progress) const {
    std::vector<const Tensor*> order;
    for (const auto& t : tensors_) order.push_back(&t);
    std::sort(order.begin(), order.end(), [](const Tensor* a, const Tensor* b) { return a->name < b->name; });

    AprLayout layout;
    std::vector<std::byte> head(kAprHeaderSize);
    layout.metadata_offset = kAprHeaderSize;
    layout.metadata_size = metadata_.size();
    put_bytes(head, metadata_.data(), metadata_.size());
    head.resize(apr_align(head.size()));
    layout.tensor_index_offset = head.size();
    uint64_t offset = 0;
    size_t total = 0;
    for (const Tensor* t : order) {
        layout.index_entry_offsets.push_back(head.size());
        put<uint16_t>(head, static_cast<uint16_t>(t->name.size()));
        put_bytes(head, t->name.data(), t->name.size());
        put<uint8_t>(head, static_cast<uint8_t>(t->type));
        put<uint8_t>(head, static_cast<uint8_t>(t->shape.size()));
        for (int64_t d : t->shape) put<uint64_t>(head, static_cast<uint64_t>(d));
        put<uint64_t>(head, offset);
        put<uint64_t>(head, t->nbytes);
        layout.tensor_data_offsets.push_back(offset);
        offset += apr_align(t->nbytes);
        total += t->nbytes;
    }
    head.resize(apr_align(head.size()));
    layout.data_offset = head.size();
    for (auto& o : layout.tensor_data_offsets) o += layout.data_offset;
    layout.footer_offset = layout.data_offset + offset;
    layout.file_size = layout.footer_offset + kAprFooterSize;

    std::byte* h = head.data();
    std::memcpy(h, kAprMagic, 4);
    h[4] = std::byte{kAprVersionMajor};
    h[5] = std::byte{kAprVersionMinor};
    const uint16_t flags = 0;
    const auto count = static_cast<uint32_t>(order.size());
    const uint64_t meta_offset = layout.metadata_offset, index_offset = layout.tensor_index_offset,
                   data_offset = layout.data_offset;
    const auto meta_size = static_cast<uint32_t>(layout.metadata_size);
    std::memcpy(h + 6, &flags, 2);
    std::memcpy(h + 8, &count, 4);
    std::memcpy(h + 12, &meta_offset, 8);
    std::memcpy(h + 20, &meta_size, 4);
    std::memcpy(h + 24, &index_offset, 8);
    std::memcpy(h + 32, &data_offset, 8);
    const uint32_t crc = apr_header_crc(h);
    std::memcpy(h + kAprChecksumOffset, &crc, 4);

    AtomicFile file(path, overwrite);
    file.write(head.data(), head.size());
    uint32_t footer = crc32(head.data(), head.size());
    std::vector<std::byte> buffer;
    static const std::byte zeros[kAprAlignment] = {};
    size_t done = 0;
    for (const Tensor* t : order) {
        buffer.assign(t->nbytes, std::byte{0});
        t->producer(buffer);
        file.write(buffer.data(), buffer.size());
        footer = crc32_update(footer, buffer.data(), buffer.size());
        const size_t pad = apr_align(t->nbytes) - t->nbytes;
        file.write(zeros, pad);
        footer = crc32_update(footer, zeros, pad);
        done += t->nbytes;
        if (progress) progress(done, total, t->name);
    }
    file.write(&footer, sizeof(footer));
    file.commit();
    return layout;
}

}  // namespace apr::formats
