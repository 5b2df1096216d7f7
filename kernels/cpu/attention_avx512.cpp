// AVX-512 versions of the f16 attention kernels (kernels/cpu/attention.hpp).
// Compiled into the AVX-512 kernel library; called only at that level.
//
// The numerics are the AVX2 kernels' but for the Q.K summation order: the
// query already rounded to f16, Q.K in f32 (two sixteen-lane sums over
// 32-value steps, then one horizontal sum), the scalar exp, and the running
// P.V sum rounded to f16 after every position (the same multiply and fused
// multiply-add per value as AVX2, sixteen at a time). So at this level the
// single-head kernel and the group kernel give the same bits per head, as
// at the others.
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "cpu/attention.hpp"

namespace apr::cpu::avx512 {
namespace {

inline __m512 load_f16(const uint16_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
inline void store_f16(uint16_t* p, __m512 x) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), _mm512_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT));
}

constexpr int64_t kChunk = 64;  // positions whose scores are computed before their softmax and P.V steps

}  // namespace

// Per chunk of positions: first every head's scores (each key row converted
// once for all heads), then per position the online-softmax step and the
// P.V update of every head (each value row converted once). Splitting the
// two changes no value: a score depends only on the query and its key.
// heads <= kMaxGroupHeads, d a multiple of 32.
void attend_block_f16_group(const uint16_t* q16, int64_t heads, const uint16_t* k, const uint16_t* v, int64_t stride,
                            int64_t n, int64_t d, float scale, float* qf, uint16_t* acc16, float* acc,
                            AttentionPartial* parts) {
    for (int64_t i = 0; i < heads * d; i += 16) {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc16 + i), _mm256_setzero_si256());
        _mm512_storeu_ps(qf + i, load_f16(q16 + i));  // exact: every f16 is an f32
    }
    float sum[kMaxGroupHeads], max[kMaxGroupHeads];
    for (int64_t h = 0; h < heads; ++h) {
        sum[h] = 0.0f;
        max[h] = -INFINITY;
    }
    float scores[kMaxGroupHeads][kChunk];
    for (int64_t j0 = 0; j0 < n; j0 += kChunk) {
        const int64_t m = std::min(kChunk, n - j0);
        for (int64_t j = 0; j < m; ++j) {
            const uint16_t* kr = k + (j0 + j) * stride;
            __m512 a0[kMaxGroupHeads], a1[kMaxGroupHeads];
            for (int64_t h = 0; h < heads; ++h) a0[h] = a1[h] = _mm512_setzero_ps();
            for (int64_t i = 0; i < d; i += 32) {
                const __m512 k0 = load_f16(kr + i), k1 = load_f16(kr + i + 16);
                for (int64_t h = 0; h < heads; ++h) {
                    a0[h] = _mm512_fmadd_ps(_mm512_loadu_ps(qf + h * d + i), k0, a0[h]);
                    a1[h] = _mm512_fmadd_ps(_mm512_loadu_ps(qf + h * d + i + 16), k1, a1[h]);
                }
            }
            for (int64_t h = 0; h < heads; ++h) scores[h][j] = _mm512_reduce_add_ps(_mm512_add_ps(a0[h], a1[h])) * scale;
        }
        for (int64_t j = 0; j < m; ++j) {
            float w[kMaxGroupHeads];
            for (int64_t h = 0; h < heads; ++h) {
                const float s = scores[h][j];
                float ms = 1.0f, vs = 1.0f;
                if (s > max[h]) {
                    ms = std::exp(max[h] - s);
                    max[h] = s;
                    const __m512 mv = _mm512_set1_ps(ms);
                    uint16_t* ah = acc16 + h * d;
                    for (int64_t i = 0; i < d; i += 16) store_f16(ah + i, _mm512_mul_ps(load_f16(ah + i), mv));
                } else {
                    vs = std::exp(s - max[h]);
                }
                w[h] = vs;
                sum[h] = sum[h] * ms + vs;
            }
            const uint16_t* vr = v + (j0 + j) * stride;
            for (int64_t i = 0; i < d; i += 16) {
                const __m512 vv = load_f16(vr + i);
                for (int64_t h = 0; h < heads; ++h) {
                    uint16_t* ah = acc16 + h * d + i;
                    store_f16(ah, _mm512_fmadd_ps(vv, _mm512_set1_ps(w[h]), load_f16(ah)));
                }
            }
        }
    }
    for (int64_t i = 0; i < heads * d; i += 16) _mm512_storeu_ps(acc + i, load_f16(acc16 + i));
    for (int64_t h = 0; h < heads; ++h) parts[h] = {max[h], sum[h]};
}

AttentionPartial attend_block_f16(const uint16_t* q16, const uint16_t* k, const uint16_t* v, int64_t stride,
                                  int64_t n, int64_t d, float scale, uint16_t* acc16, float* acc) {
    alignas(64) float qf[kMaxAvx512HeadDim];
    AttentionPartial part{};
    attend_block_f16_group(q16, 1, k, v, stride, n, d, scale, qf, acc16, acc, &part);
    return part;
}

}  // namespace apr::cpu::avx512
