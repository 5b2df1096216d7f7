#include "formats/gguf_writer.hpp"

#include <cerrno>
#include <cstring>
#include <limits>

#include "core/atomic_file.hpp"
#include "core/fail.hpp"
#include "formats/byte_cursor.hpp"
#include "formats/gguf_reader.hpp"

namespace apr::formats {
namespace {

MetaValue scalar(MetaType type, decltype(MetaValue::value) v) {
    MetaValue value;
    value.type = static_cast<uint32_t>(type);
    value.value = std::move(v);
    return value;
}

// Serializes little-endian values into a growing byte string.
class Encoder {
public:
    template <typename T>
    void put(T v) {
        char bytes[sizeof(T)];
        std::memcpy(bytes, &v, sizeof(T));
        out_.append(bytes, sizeof(T));
    }
    void put_string(std::string_view s) {
        put<uint64_t>(s.size());
        out_.append(s);
    }
    size_t size() const { return out_.size(); }
    void pad_to(size_t alignment) { out_.append((alignment - out_.size() % alignment) % alignment, '\0'); }
    const std::string& bytes() const { return out_; }

private:
    std::string out_;
};

[[noreturn]] void bad_value(const std::string& key, std::string_view why) {
    fail(ErrorCode::invalid_argument, "GGUF writer: metadata '{}': {}", key, why);
}

template <typename T>
T checked_unsigned(const MetaValue& value, const std::string& key) {
    const auto* u = std::get_if<uint64_t>(&value.value);
    if (!u) bad_value(key, "unsigned type without an unsigned value");
    if (*u > std::numeric_limits<T>::max()) bad_value(key, "value out of range for its type");
    return static_cast<T>(*u);
}

template <typename T>
T checked_signed(const MetaValue& value, const std::string& key) {
    const auto* i = std::get_if<int64_t>(&value.value);
    if (!i) bad_value(key, "signed type without a signed value");
    if (*i < std::numeric_limits<T>::min() || *i > std::numeric_limits<T>::max())
        bad_value(key, "value out of range for its type");
    return static_cast<T>(*i);
}

void encode_value(Encoder& out, const MetaValue& value, const std::string& key, int depth) {
    switch (static_cast<MetaType>(value.type)) {
        case MetaType::uint8: out.put(checked_unsigned<uint8_t>(value, key)); return;
        case MetaType::uint16: out.put(checked_unsigned<uint16_t>(value, key)); return;
        case MetaType::uint32: out.put(checked_unsigned<uint32_t>(value, key)); return;
        case MetaType::uint64: out.put(checked_unsigned<uint64_t>(value, key)); return;
        case MetaType::int8: out.put(checked_signed<int8_t>(value, key)); return;
        case MetaType::int16: out.put(checked_signed<int16_t>(value, key)); return;
        case MetaType::int32: out.put(checked_signed<int32_t>(value, key)); return;
        case MetaType::int64: out.put(checked_signed<int64_t>(value, key)); return;
        case MetaType::float32:
        case MetaType::float64: {
            const auto* d = std::get_if<double>(&value.value);
            if (!d) bad_value(key, "float type without a floating-point value");
            if (value.type == static_cast<uint32_t>(MetaType::float32))
                out.put(static_cast<float>(*d));
            else
                out.put(*d);
            return;
        }
        case MetaType::boolean: {
            const auto* b = std::get_if<bool>(&value.value);
            if (!b) bad_value(key, "bool type without a bool value");
            out.put<uint8_t>(*b ? 1 : 0);
            return;
        }
        case MetaType::string: {
            const auto* s = std::get_if<std::string>(&value.value);
            if (!s) bad_value(key, "string type without a string value");
            out.put_string(*s);
            return;
        }
        case MetaType::array: {
            const auto* items = std::get_if<MetaArray>(&value.value);
            if (!items) bad_value(key, "array type without an array value");
            if (depth >= kGgufMaxArrayDepth) bad_value(key, "arrays nested too deeply");
            out.put<uint32_t>(value.element_type);
            out.put<uint64_t>(items->size());
            for (const auto& item : *items) {
                if (item.type != value.element_type) bad_value(key, "array item type differs from the element type");
                encode_value(out, item, key, depth + 1);
            }
            return;
        }
    }
    bad_value(key, fmt::format("unknown value type {}", value.type));
}

uint32_t alignment_from(const MetaValue& value) {
    const auto a = meta_int(value);
    if (!a || *a <= 0 || *a > (int64_t{1} << 30) || (*a & (*a - 1)) != 0 ||
        value.type == static_cast<uint32_t>(MetaType::boolean))
        fail(ErrorCode::invalid_argument, "GGUF writer: general.alignment must be an integer power of two");
    return static_cast<uint32_t>(*a);
}

}  // namespace

MetaValue meta_u8(uint8_t v) { return scalar(MetaType::uint8, uint64_t{v}); }
MetaValue meta_i8(int8_t v) { return scalar(MetaType::int8, int64_t{v}); }
MetaValue meta_u16(uint16_t v) { return scalar(MetaType::uint16, uint64_t{v}); }
MetaValue meta_i16(int16_t v) { return scalar(MetaType::int16, int64_t{v}); }
MetaValue meta_u32(uint32_t v) { return scalar(MetaType::uint32, uint64_t{v}); }
MetaValue meta_i32(int32_t v) { return scalar(MetaType::int32, int64_t{v}); }
MetaValue meta_u64(uint64_t v) { return scalar(MetaType::uint64, v); }
MetaValue meta_i64(int64_t v) { return scalar(MetaType::int64, v); }
MetaValue meta_f32(float v) { return scalar(MetaType::float32, double{v}); }
MetaValue meta_f64(double v) { return scalar(MetaType::float64, v); }
MetaValue meta_bool_value(bool v) { return scalar(MetaType::boolean, v); }
MetaValue meta_string_value(std::string v) { return scalar(MetaType::string, std::move(v)); }

MetaValue meta_array_value(MetaType element_type, MetaArray items) {
    MetaValue value = scalar(MetaType::array, std::move(items));
    value.element_type = static_cast<uint32_t>(element_type);
    return value;
}

MetaValue meta_string_array(const std::vector<std::string>& items) {
    MetaArray array;
    array.reserve(items.size());
    for (const auto& s : items) array.push_back(meta_string_value(s));
    return meta_array_value(MetaType::string, std::move(array));
}

MetaValue meta_i32_array(const std::vector<int32_t>& items) {
    MetaArray array;
    array.reserve(items.size());
    for (int32_t v : items) array.push_back(meta_i32(v));
    return meta_array_value(MetaType::int32, std::move(array));
}

MetaValue meta_f32_array(const std::vector<float>& items) {
    MetaArray array;
    array.reserve(items.size());
    for (float v : items) array.push_back(meta_f32(v));
    return meta_array_value(MetaType::float32, std::move(array));
}

GgufWriter::GgufWriter(uint32_t version) : version_(version), alignment_(kGgufDefaultAlignment) {
    if (version != 2 && version != 3)
        fail(ErrorCode::invalid_argument, "GGUF writer: version {} is not writable (2 or 3)", version);
}

void GgufWriter::set(const std::string& key, MetaValue value) {
    if (key.empty() || !is_valid_utf8(key))
        fail(ErrorCode::invalid_argument, "GGUF writer: metadata key '{}' is empty or not UTF-8", key);
    if (key == "general.alignment") alignment_ = alignment_from(value);
    for (auto& [k, v] : metadata_) {
        if (k == key) {
            v = std::move(value);
            return;
        }
    }
    metadata_.emplace_back(key, std::move(value));
}

void GgufWriter::add_tensor(const std::string& name, DType type, std::vector<int64_t> shape,
                            std::span<const std::byte> data) {
    if (name.empty() || !is_valid_utf8(name))
        fail(ErrorCode::invalid_argument, "GGUF writer: tensor name '{}' is empty or not UTF-8", name);
    for (const auto& t : tensors_)
        if (t.name == name) fail(ErrorCode::invalid_argument, "GGUF writer: tensor '{}' added twice", name);
    if (shape.empty() || shape.size() > kGgufMaxDims)
        fail(ErrorCode::invalid_argument, "GGUF writer: tensor '{}' has {} dimensions (1 to {})", name, shape.size(),
             kGgufMaxDims);
    int64_t elements = 1;
    for (int64_t d : shape) {
        if (d < 0 || (d > 0 && elements > (int64_t{1} << 62) / d))
            fail(ErrorCode::invalid_argument, "GGUF writer: tensor '{}' has a bad dimension {}", name, d);
        elements *= d;
    }
    const DTypeInfo* info = dtype_info(type);
    if (!info) fail(ErrorCode::invalid_argument, "GGUF writer: tensor '{}' has an unknown type", name);
    if (shape.back() % info->block_elements != 0)
        fail(ErrorCode::invalid_argument, "GGUF writer: tensor '{}': row length {} is not a multiple of {} for {}",
             name, shape.back(), info->block_elements, info->name);
    const size_t expected = dtype_bytes(type, elements);
    if (data.size() != expected)
        fail(ErrorCode::invalid_argument, "GGUF writer: tensor '{}' ({} {}) needs {} bytes, got {}", name,
             info->name, elements, expected, data.size());
    tensors_.push_back(Tensor{name, type, std::move(shape), data, {}});
}

void GgufWriter::add_tensor(const std::string& name, DType type, std::vector<int64_t> shape,
                            std::vector<std::byte>&& data) {
    add_tensor(name, type, std::move(shape), std::span<const std::byte>(data));
    tensors_.back().owned = std::move(data);  // the heap buffer, and so the span, stays put
}

GgufLayout GgufWriter::write(const std::filesystem::path& path, bool overwrite,
                             const std::function<void(size_t, size_t, const std::string&)>& progress) const {
    GgufLayout layout;
    Encoder header;
    header.put<uint32_t>(kGgufMagic);
    header.put<uint32_t>(version_);
    layout.tensor_count_offset = header.size();
    header.put<uint64_t>(tensors_.size());
    layout.kv_count_offset = header.size();
    header.put<uint64_t>(metadata_.size());
    for (const auto& [key, value] : metadata_) {
        layout.kv_offsets.push_back(header.size());
        header.put_string(key);
        header.put<uint32_t>(value.type);
        encode_value(header, value, key, 0);
    }
    uint64_t offset = 0;
    std::vector<uint64_t> offsets;
    for (const auto& t : tensors_) {
        layout.tensor_info_offsets.push_back(header.size());
        header.put_string(t.name);
        header.put<uint32_t>(static_cast<uint32_t>(t.shape.size()));
        for (auto d = t.shape.rbegin(); d != t.shape.rend(); ++d) header.put<uint64_t>(static_cast<uint64_t>(*d));
        header.put<uint32_t>(static_cast<uint32_t>(t.type));
        header.put<uint64_t>(offset);
        offsets.push_back(offset);
        offset += (t.data.size() + alignment_ - 1) / alignment_ * alignment_;
    }
    header.pad_to(alignment_);
    layout.data_offset = header.size();
    for (uint64_t o : offsets) layout.tensor_data_offsets.push_back(layout.data_offset + o);
    layout.file_size = layout.data_offset + offset;

    AtomicFile file(path, overwrite);
    file.write(header.bytes().data(), header.size());
    size_t total = 0, done = 0;
    for (const auto& t : tensors_) total += t.data.size();
    for (const auto& t : tensors_) {
        file.write(t.data.data(), t.data.size());
        file.write_zeros((alignment_ - t.data.size() % alignment_) % alignment_);
        done += t.data.size();
        if (progress) progress(done, total, t.name);
    }
    file.commit();
    return layout;
}

}  // namespace apr::formats
