// A bounds-checked little-endian reader over a byte range. Every read checks
// the remaining length first and throws apr::Error(bad_format) naming the
// file and what was being read, so parsers built on it cannot run past the
// end of a truncated or corrupt file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "core/fail.hpp"

namespace apr::formats {

class ByteCursor {
public:
    ByteCursor(const std::byte* data, size_t size, std::string_view file) : data_(data), size_(size), file_(file) {}

    size_t offset() const { return pos_; }
    size_t size() const { return size_; }
    size_t remaining() const { return size_ - pos_; }
    std::string_view file() const { return file_; }

    // Throws unless `count` more bytes are available; `what` names the field.
    void need(uint64_t count, std::string_view what) const {
        if (count > remaining())
            fail(ErrorCode::bad_format, "{}: truncated: {} needs {} bytes at offset {} but only {} remain", file_,
                 what, count, pos_, remaining());
    }

    template <typename T>
    T read(std::string_view what) {
        need(sizeof(T), what);
        T value;
        std::memcpy(&value, data_ + pos_, sizeof(T));  // GGUF is little-endian, like every host we build for
        pos_ += sizeof(T);
        return value;
    }

    std::string_view read_bytes(uint64_t count, std::string_view what) {
        need(count, what);
        std::string_view bytes(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(count));
        pos_ += static_cast<size_t>(count);
        return bytes;
    }

    void skip(uint64_t count, std::string_view what) { read_bytes(count, what); }

private:
    const std::byte* data_;
    size_t size_;
    size_t pos_ = 0;
    std::string_view file_;
};

// Length of the well-formed UTF-8 sequence starting at text[i] (i < size),
// or 0 when the bytes there are not one.
size_t utf8_sequence_length(std::string_view text, size_t i) noexcept;

// True when `text` is well-formed UTF-8 (no overlong forms, no surrogates,
// nothing above U+10FFFF).
bool is_valid_utf8(std::string_view text) noexcept;

}  // namespace apr::formats
