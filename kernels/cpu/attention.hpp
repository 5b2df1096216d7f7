// Attention kernels for the paged KV cache, flash-decoding style: each query
// head's attention is computed block by block of cache positions, each block
// giving a partial result (its running maximum, its sum of exponentials and
// its unnormalized P.V row), and the partials are folded in block order.
// Because blocks have a fixed size (the cache's block length) and the fold
// order is fixed, a query's output is the same whether its blocks were
// computed by one thread or many, in a prompt batch or while decoding.
//
// Keys and values of one head are rows of `d` values, `stride` elements
// (q8_0: blocks) apart; in the paged cache a block's rows are contiguous.
#pragma once

#include <cstdint>

#include "cpu/cpu_features.hpp"

namespace apr::cpu {

// The partial attention of one query head over some positions:
//   max = max_j s_j,  sum = sum_j exp(s_j - max),  acc = sum_j exp(s_j - max) v_j
// (f16: llama.cpp's online-softmax recurrence, see attend_block_f16).
// An empty partial has max = -inf, sum = 0.
struct AttentionPartial {
    float max;
    float sum;
};

// Folds (m2, l2, a2) into (m1, l1, a1), d values: the combined partial of
// both position sets. Folding into an empty partial copies.
void fold_partial(AttentionPartial& p1, float* a1, const AttentionPartial& p2, const float* a2, int64_t d);
// out = acc / sum.
void finish_partial(const AttentionPartial& p, const float* acc, int64_t d, float* out);

// f32 keys and values: scores in f32, exact per-block softmax, P.V in f32
// (scalar: std::exp, sum in double; AVX2: a polynomial exp within ~1 ulp,
// sum in eight f32 lanes). scores: n values of scratch.
AttentionPartial attend_block_f32(const float* q, const float* k, const float* v, int64_t stride, int64_t n,
                                  int64_t d, float scale, float* scores, float* acc, SimdLevel level);

// f16 keys and values (raw IEEE half bits): llama.cpp's CPU flash-attention
// numerics within the block (its default path): the query already rounded to
// f16, Q.K as an f16 dot product in f32, an online softmax whose running P.V
// sum is rounded to f16 after every position (rescaled when the maximum
// grows). acc16: d values of scratch; acc receives the block's f16 sum as f32.
AttentionPartial attend_block_f16(const uint16_t* q16, const uint16_t* k, const uint16_t* v, int64_t stride,
                                  int64_t n, int64_t d, float scale, uint16_t* acc16, float* acc, SimdLevel level);

// attend_block_f16 for `heads` query heads that share these keys and values
// (one GQA group): q16 holds heads rows of d values; acc receives heads rows
// and parts one partial per head, each bit for bit what attend_block_f16
// gives for that head alone. Keys and values are read and converted once for
// the whole group. Scratch: qf heads * d floats, acc16 heads * d values.
constexpr int64_t kMaxGroupHeads = 8;
void attend_block_f16_group(const uint16_t* q16, int64_t heads, const uint16_t* k, const uint16_t* v, int64_t stride,
                            int64_t n, int64_t d, float scale, float* qf, uint16_t* acc16, float* acc,
                            AttentionPartial* parts, SimdLevel level);

// q8_0 keys and values (34-byte blocks of 32 values; d a multiple of 32):
// the query quantized to q8_0, Q.K as llama.cpp's q8_0 x q8_0 dot product,
// values dequantized to f32, per-block softmax as attend_block_f32.
// stride is in q8_0 blocks; scores: n values; vrow: d values of scratch.
AttentionPartial attend_block_q8_0(const void* q8, const void* k, const void* v, int64_t stride, int64_t n,
                                   int64_t d, float scale, float* scores, float* vrow, float* acc, SimdLevel level);

// f32 row -> q8_0 blocks (n a multiple of 32), as llama.cpp stores a q8_0 cache.
void f32_to_q8_0_row(const float* x, void* y, int64_t n, SimdLevel level);

// f32 row -> f16 bits, rounded to nearest even: the bits of the scalar
// f32_to_f16_row (cpu/ops.hpp) for every non-NaN value (F16C's conversion
// where the level has it; a NaN stays a NaN, its payload may differ).
void f32_to_f16_row(const float* x, uint16_t* y, int64_t n, SimdLevel level);

namespace avx2 {
AttentionPartial attend_block_f32(const float* q, const float* k, const float* v, int64_t stride, int64_t n, int64_t d,
                                  float scale, float* scores, float* acc);
AttentionPartial attend_block_f16(const uint16_t* q16, const uint16_t* k, const uint16_t* v, int64_t stride,
                                  int64_t n, int64_t d, float scale, uint16_t* acc16, float* acc);
void attend_block_f16_group(const uint16_t* q16, int64_t heads, const uint16_t* k, const uint16_t* v, int64_t stride,
                            int64_t n, int64_t d, float scale, float* qf, uint16_t* acc16, float* acc,
                            AttentionPartial* parts);
void f32_to_f16_row(const float* x, uint16_t* y, int64_t n);
float dot_f32(const float* a, const float* b, int64_t n);
void axpy_f32(float a, const float* x, float* y, int64_t n);
}  // namespace avx2

// AVX-512 f16 kernels (attention_avx512.cpp): d a multiple of 32, the
// single-head one d <= kMaxAvx512HeadDim; the dispatchers above check.
constexpr int64_t kMaxAvx512HeadDim = 512;
namespace avx512 {
AttentionPartial attend_block_f16(const uint16_t* q16, const uint16_t* k, const uint16_t* v, int64_t stride,
                                  int64_t n, int64_t d, float scale, uint16_t* acc16, float* acc);
void attend_block_f16_group(const uint16_t* q16, int64_t heads, const uint16_t* k, const uint16_t* v, int64_t stride,
                            int64_t n, int64_t d, float scale, float* qf, uint16_t* acc16, float* acc,
                            AttentionPartial* parts);
}  // namespace avx512

}  // namespace apr::cpu
