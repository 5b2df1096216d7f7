// Reference (scalar) dequantization of every tensor type libapr reads.
// These loops are the definition of each format's meaning: SIMD and CUDA
// kernels are tested against them. They follow GGUF/ggml semantics exactly,
// including the order of the float operations, so a dequantized value equals
// the one llama.cpp's dequantize_row_* produces bit for bit.
#pragma once

#include <cstdint>
#include <vector>

#include "apr/dtype.hpp"
#include "apr/tensor.hpp"

namespace apr::quant {

// Converts n values of `type` starting at `src` into n floats at `dst`.
// Supported: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q4_K, Q5_K,
// Q6_K, Q8_K. n must be a whole number of blocks of the type (>= 0).
// Throws apr::Error: invalid_argument for a bad n or null pointers with n > 0,
// unsupported for a type without a dequantizer (Q2_K, Q3_K, unknown ids).
void dequantize_row(DType type, const void* src, float* dst, int64_t n);

// Whether dequantize_row handles `type`.
bool can_dequantize(DType type) noexcept;

// The whole tensor as f32, rows in order (elements() values). Validates that
// the view's byte size matches its shape and type and that each row is a
// whole number of blocks; throws apr::Error(bad_format) naming the tensor.
std::vector<float> dequantize(const TensorView& tensor);

}  // namespace apr::quant
