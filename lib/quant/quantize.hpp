// Reference (scalar) quantization of f32 values into every type libapr
// computes with.
//
// Two kinds of quantizer live here:
// - Activation quantizers (Q8_0, Q8_1, Q8_K) reproduce llama.cpp's reference
//   quantizers (quantize_row_q8_0_ref, _q8_1_ref, _q8_K_ref) byte for byte.
//   Quantized matmuls quantize the activations with these, so agreeing with
//   llama.cpp here is what makes quantized outputs agree token for token.
//   SIMD activation quantizers must produce the same bytes as these.
// - Weight quantizers (Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K) aim for good
//   quality with simple, readable searches; they make benchmark models and
//   test data and do not promise llama-quantize's exact bytes.
// F32, F16 (round to nearest even) and BF16 (round to nearest even) convert.
#pragma once

#include <cstddef>
#include <cstdint>

#include "apr/dtype.hpp"

namespace apr::quant {

// Quantizes n floats at `src` into `dst`, which must have room for
// dtype_bytes(type, n) bytes; returns the bytes written. n must be a whole
// number of blocks (>= 0). Throws apr::Error: invalid_argument for a bad n or
// null pointers with n > 0, unsupported for types without a quantizer.
// Non-finite inputs never crash; what they produce is unspecified.
size_t quantize_row(DType type, const float* src, void* dst, int64_t n);

// Whether quantize_row handles `type`.
bool can_quantize(DType type) noexcept;

}  // namespace apr::quant
