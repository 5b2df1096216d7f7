// Argument checks shared by quantize_row and dequantize_row.
#pragma once

#include <cstdint>

#include "apr/dtype.hpp"
#include "core/fail.hpp"

namespace apr::quant {

// A type can be converted both ways exactly when dtype.cpp marks it
// supported (every type but Q2_K and Q3_K).
inline bool is_convertible(DType type) noexcept {
    const DTypeInfo* info = dtype_info(type);
    return info != nullptr && info->supported;
}

// Validates a row conversion `what` ("quantize_row", ...) of n values of
// `type` between src and dst; returns the type's traits. Null pointers are
// accepted only for an empty row.
inline const DTypeInfo& check_row_args(const char* what, DType type, int64_t n, const void* src, const void* dst) {
    if (!is_convertible(type))
        fail(ErrorCode::unsupported, "{}: no conversion for tensor type {} (id {})", what, dtype_name(type),
             static_cast<uint32_t>(type));
    const DTypeInfo& info = *dtype_info(type);
    if (n < 0 || n % info.block_elements != 0)
        fail(ErrorCode::invalid_argument, "{}: {} values of type {} are not a whole number of {}-value blocks", what, n,
             info.name, info.block_elements);
    if (n > 0 && (!src || !dst))
        fail(ErrorCode::invalid_argument, "{}: null {} pointer", what, src ? "destination" : "source");
    return info;
}

}  // namespace apr::quant
