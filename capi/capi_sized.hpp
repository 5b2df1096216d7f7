// Size-prefixed structs of the C ABI. Every struct starts with struct_size
// and only grows at the end; each has a field table (StructLayout) so that
//  - a struct_size below the first field or inside a field is refused,
//  - only the fields a caller's struct_size covers are read (no padding
//    bytes, no fields an older caller never had),
//  - a newer caller's non-zero bytes past what this library knows are
//    refused with APR_ERR_UNSUPPORTED instead of being ignored,
//  - output structs are zeroed on entry (all but struct_size).
// A static_assert checks that each table lists every field, so appending a
// field without its table entry does not compile.
#pragma once

#include <cstddef>
#include <cstring>
#include <fmt/format.h>

#include "apr.h"
#include "apr/error.hpp"
#include "apr/version.hpp"
#include "capi_internal.hpp"

namespace apr::capi {

struct FieldSpan {
    const char* name;
    size_t offset;
    size_t size;
};
#define APR_CAPI_FIELD(T, f) ::apr::capi::FieldSpan{#f, offsetof(T, f), sizeof(static_cast<T*>(nullptr)->f)}

template <typename T>
struct StructLayout;  // static constexpr const char* name; static constexpr FieldSpan fields[];

// No struct of this ABI comes near this; a larger struct_size is garbage
// (an uninitialized struct), not a newer caller.
inline constexpr size_t kMaxStructSize = 4096;

template <typename T>
constexpr bool layout_is_complete() {
    const auto& f = StructLayout<T>::fields;
    constexpr size_t n = sizeof(StructLayout<T>::fields) / sizeof(FieldSpan);
    if (f[0].offset != 0 || f[0].size != sizeof(size_t)) return false;
    for (size_t i = 1; i < n; ++i) {
        const size_t end = f[i - 1].offset + f[i - 1].size;
        // The next field starts at the end of the previous one or after less
        // padding than its own size (its alignment): nothing is skipped.
        if (f[i].offset < end || f[i].offset - end >= f[i].size) return false;
    }
    const size_t end = f[n - 1].offset + f[n - 1].size;
    return end <= sizeof(T) && sizeof(T) - end < alignof(T);
}

// Refuses sizes below the first field, inside a field, or absurdly large.
template <typename T>
void check_struct_size(size_t size, const char* fn) {
    using L = StructLayout<T>;
    if (size < sizeof(size_t))
        throw Error(ErrorCode::invalid_argument,
                    fmt::format("{}: {}.struct_size = {} is below its first field; set it to sizeof({}) = {}", fn,
                                L::name, size, L::name, sizeof(T)));
    if (size > kMaxStructSize)
        throw Error(ErrorCode::invalid_argument,
                    fmt::format("{}: {}.struct_size = {} is not a struct size (uninitialized?); set it to sizeof({}) = {}",
                                fn, L::name, size, L::name, sizeof(T)));
    for (const FieldSpan& f : L::fields)
        if (f.offset < size && size < f.offset + f.size)
            throw Error(ErrorCode::invalid_argument,
                        fmt::format("{}: {}.struct_size = {} ends inside field '{}' (bytes {}..{}); set it to sizeof({}) = {}",
                                    fn, L::name, size, f.name, f.offset, f.offset + f.size, L::name, sizeof(T)));
}

// Reads a caller's input struct: fields its struct_size covers, defaults for
// the rest. NULL gives the defaults.
template <typename T>
T read_params(const T* in, const T& defaults, const char* fn) {
    T out = defaults;
    out.struct_size = sizeof(T);
    if (in == nullptr) return out;
    const size_t size = in->struct_size;
    check_struct_size<T>(size, fn);
    const auto* bytes = reinterpret_cast<const unsigned char*>(in);
    for (size_t i = sizeof(T); i < size; ++i)
        if (bytes[i] != 0)
            throw Error(ErrorCode::unsupported,
                        fmt::format("{}: {} has a non-zero byte at offset {}, past the {} bytes this libapr ({}) knows: "
                                    "a field of a newer libapr is set and would be ignored",
                                    fn, StructLayout<T>::name, i, sizeof(T), apr::version_string()));
    for (const FieldSpan& f : StructLayout<T>::fields)
        if (f.offset + f.size <= size && f.offset != 0)
            std::memcpy(reinterpret_cast<unsigned char*>(&out) + f.offset, bytes + f.offset, f.size);
    return out;
}

// Validates an output struct and zeroes everything after struct_size.
template <typename T>
void begin_output(T* out, const char* fn) {
    if (out == nullptr) return;
    check_struct_size<T>(out->struct_size, fn);
    std::memset(reinterpret_cast<unsigned char*>(out) + sizeof(size_t), 0, out->struct_size - sizeof(size_t));
}

// Copies the fields of `full` the caller's struct_size covers (after begin_output).
template <typename T>
void write_output(T* out, const T& full) {
    for (const FieldSpan& f : StructLayout<T>::fields)
        if (f.offset + f.size <= out->struct_size && f.offset != 0)
            std::memcpy(reinterpret_cast<unsigned char*>(out) + f.offset,
                        reinterpret_cast<const unsigned char*>(&full) + f.offset, f.size);
}

// apr_*_default_params: fills what the caller's struct_size covers; a bad
// struct_size leaves the struct alone (and says so in apr_last_error()).
template <typename T>
void write_defaults(T* out, const T& defaults, const char* fn) noexcept {
    if (out == nullptr) return;
    try {
        begin_output(out, fn);
        write_output(out, defaults);
    } catch (const Error& e) {
        set_last_error(e.what());
    } catch (...) {
        set_last_error("out of memory");
    }
}

}  // namespace apr::capi
