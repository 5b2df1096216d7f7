// Row-wise CPU kernels for the non-matmul ops of the forward pass (the
// quantized matmul lives in matmul.hpp). Each is one obvious loop that the
// compiler vectorizes; the numerics follow llama.cpp's CPU ops (sums of
// squares and softmax denominators in double) so outputs agree with it.
#pragma once

#include <cstdint>

#include "cpu/cpu_features.hpp"

namespace apr::cpu {

// y = x / sqrt(mean(x^2) + eps) * w  (n values; y may alias x)
void rmsnorm_row(const float* x, const float* w, int64_t n, float eps, float* y);

// Rotates one head in place, NEOX style: pairs (i, i + d/2) by angle
// position * inv_freq[i]; inv_freq has d/2 entries.
void rope_neox_head(float* x, int64_t d, float position, const float* inv_freq);
// Same, with adjacent pairs (2i, 2i + 1) (llama.cpp's "normal" rope of Llama GGUFs).
void rope_normal_head(float* x, int64_t d, float position, const float* inv_freq);
// `heads` consecutive heads of one row at one position: each head's bits of
// the one-head functions above, with the angles' cos and sin computed once
// for all the heads instead of once per head.
void rope_neox_heads(float* x, int64_t heads, int64_t d, float position, const float* inv_freq);
void rope_normal_heads(float* x, int64_t heads, int64_t d, float position, const float* inv_freq);

// y = silu(gate) * up = gate / (1 + exp(-gate)) * up
void swiglu_row(const float* gate, const float* up, int64_t n, float* y);
// The same at a SIMD level: at avx512, sixteen values at a time with the
// same operations and an exp with std::exp's bits (avx512/exp_avx512.hpp),
// so the bits of swiglu_row; other levels run swiglu_row. y may alias gate.
void swiglu_row(const float* gate, const float* up, int64_t n, float* y, SimdLevel level);
// y = exp(x), each value std::exp's bits at every level (avx512: sixteen at
// a time). y may alias x.
void exp_row(const float* x, int64_t n, float* y, SimdLevel level);

// y += x
void add_row(float* y, const float* x, int64_t n);

// In place: x = softmax(x) over n values; returns nothing. Max-subtracted,
// denominator summed in double.
void softmax_row(float* x, int64_t n);

// f16 helpers for the attention over an f16 KV cache (values are raw IEEE
// half bits). The f16 -> f32 conversion goes through a 64K-entry table.
float f16_bits_to_f32(uint16_t h);
void f32_to_f16_row(const float* x, uint16_t* y, int64_t n);
// sum_i a[i] * b[i], products and sum in f32
float dot_f16(const uint16_t* a, const uint16_t* b, int64_t n);
float dot_f32(const float* a, const float* b, int64_t n);
// y += a * x
void axpy_f16(float a, const uint16_t* x, float* y, int64_t n);
void axpy_f32(float a, const float* x, float* y, int64_t n);

// f32 attention of one query head over positions 0..n-1 (rows `stride`
// floats apart), computed as the paged cache does: blocks of 256 positions
// (attend_block_f32 at the scalar level) folded in order. scores: at least
// min(n, 256) floats. The reference the CUDA kernel tests compare against.
void attend_head_f32(const float* q, const float* k, const float* v, int64_t stride, int64_t n, int64_t d,
                     float scale, float* scores, float* out);

namespace avx512 {  // ops_avx512.cpp: call only at the avx512 level
void swiglu_row(const float* gate, const float* up, int64_t n, float* y);
void exp_row(const float* x, int64_t n, float* y);
}  // namespace avx512

}  // namespace apr::cpu
