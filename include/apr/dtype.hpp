// Element types of tensors. Quantized types use GGUF's block layouts byte for
// byte, so a GGUF file's tensor data is used in place (zero copy). The numeric
// values are GGUF's ggml_type ids.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "apr/export.hpp"

namespace apr {

enum class DType : uint32_t {
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q8_1 = 9,
    Q2_K = 10,
    Q3_K = 11,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
    Q8_K = 15,
    BF16 = 30,
};

struct DTypeInfo {
    DType type;
    std::string_view name;     // "Q4_K", "F32", ...
    int64_t block_elements;    // values per block (1 for plain floats)
    size_t block_bytes;        // bytes per block
    bool quantized;
    bool supported;            // libapr can dequantize / compute with it
};

// Traits of a type; nullptr for an id libapr does not know.
APR_API const DTypeInfo* dtype_info(DType type) noexcept;
APR_API const DTypeInfo* dtype_info_from_id(uint32_t ggml_type_id) noexcept;
APR_API std::optional<DType> dtype_from_name(std::string_view name) noexcept;  // case-insensitive
APR_API std::string_view dtype_name(DType type) noexcept;

// Bytes taken by `elements` values of `type`; throws apr::Error when the count
// is not a whole number of blocks or the type is unknown.
APR_API size_t dtype_bytes(DType type, int64_t elements);

}  // namespace apr
