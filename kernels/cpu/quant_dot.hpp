// Activation quantizers and single-row dot products, for code outside the
// matmul that needs them (attention, tests, tools). The matmul uses the same
// functions, so results agree bit for bit with apr::cpu::matmul.
//
// Pairing (as in llama.cpp): Q4_K, Q5_K, Q6_K weights take Q8_K activations;
// Q8_0, Q4_0, Q5_0 take Q8_0; Q4_1, Q5_1 take Q8_1; F32, F16, BF16 take the
// f32 activations unchanged.
#pragma once

#include <cstddef>
#include <cstdint>

#include "apr/dtype.hpp"
#include "cpu/cpu_features.hpp"

namespace apr::cpu {

// Whether matmul / vec_dot handle weights of this type.
bool weight_type_supported(DType weight) noexcept;

// The activation type a weight type's dot product consumes (F32 for float
// weights). Throws apr::Error(unsupported) for other types.
DType activation_type(DType weight);

// Bytes of one activation row of k values for weights of type `weight`.
// Throws apr::Error(invalid_argument) when k is not a whole number of blocks.
size_t activation_row_bytes(DType weight, int64_t k);

// Quantizes k f32 values into `out` (activation_row_bytes(weight, k) bytes)
// in the format `weight` pairs with; for float weights it copies the floats.
// Bytes are identical to apr::quant::quantize_row of the activation type, at
// every SIMD level.
void quantize_activation_row(DType weight, const float* x, void* out, int64_t k, SimdLevel level);

// Dot product of one weight row (k values of type `weight`) with one
// activation row made by quantize_activation_row. Throws apr::Error for an
// unsupported type or a k that is not a whole number of blocks.
float vec_dot(DType weight, int64_t k, const void* w_row, const void* act_row, SimdLevel level);

}  // namespace apr::cpu
