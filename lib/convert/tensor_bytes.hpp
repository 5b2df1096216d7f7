// Tensor data in another float type (F32 <-> F16 <-> BF16, or any
// dequantizable type to F32), row by row into a caller's buffer.
#pragma once

#include <cstddef>
#include <span>

#include "apr/tensor.hpp"

namespace apr::convert {

bool is_float_type(DType type) noexcept;  // F32, F16, BF16

// Writes the tensor's values as `to` into `out` (dtype_bytes(to, elements)
// bytes). Same type: a copy. Throws apr::Error(unsupported) when `to` is not
// a float type or the source type cannot be dequantized.
void convert_tensor(const TensorView& tensor, DType to, std::span<std::byte> out);

}  // namespace apr::convert
