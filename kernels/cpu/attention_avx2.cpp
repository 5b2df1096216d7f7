// AVX2 + F16C + FMA versions of the attention kernels (kernels/cpu/attention.hpp).
// Compiled into the AVX2 kernel library; called only when the CPU has AVX2.
#include <immintrin.h>

#include <cmath>

#include "core/half.hpp"
#include "cpu/attention.hpp"

namespace apr::cpu::avx2 {
namespace {

inline __m256 load_f16(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
inline void store_f16(uint16_t* p, __m256 x) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT));
}

inline float hsum(__m256 x) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

float dot_f16(const uint16_t* a, const uint16_t* b, int64_t n) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        acc0 = _mm256_fmadd_ps(load_f16(a + i), load_f16(b + i), acc0);
        acc1 = _mm256_fmadd_ps(load_f16(a + i + 8), load_f16(b + i + 8), acc1);
    }
    float sum = hsum(_mm256_add_ps(acc0, acc1));
    for (; i < n; ++i) sum += f16_to_f32(a[i]) * f16_to_f32(b[i]);
    return sum;
}

// exp(x) for 8 lanes: Cephes' expf (range reduction by ln 2, degree-5
// polynomial), about 1 ulp; inputs here are <= 0 (scores minus their max),
// very negative ones flush to 0.
inline __m256 exp256(__m256 x) {
    const __m256 hi = _mm256_set1_ps(88.3762626647949f), lo = _mm256_set1_ps(-88.3762626647949f);
    x = _mm256_max_ps(_mm256_min_ps(x, hi), lo);
    __m256 fx = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f));
    fx = _mm256_floor_ps(fx);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
    __m256 y = _mm256_set1_ps(1.9875691500e-4f);
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507e-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073e-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894e-2f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459e-1f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201e-1f));
    const __m256 x2 = _mm256_mul_ps(x, x);
    y = _mm256_fmadd_ps(y, x2, _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(fx), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
}

}  // namespace

AttentionPartial attend_block_f32(const float* q, const float* k, const float* v, int64_t stride, int64_t n, int64_t d,
                                  float scale, float* scores, float* acc) {
    // 1. scores, four positions at a time
    const bool whole = d % 8 == 0;
    int64_t j = 0;
    if (whole) {
        for (; j + 4 <= n; j += 4) {
            __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
            const float* k0 = k + j * stride;
            for (int64_t i = 0; i < d; i += 8) {
                const __m256 qi = _mm256_loadu_ps(q + i);
                s0 = _mm256_fmadd_ps(qi, _mm256_loadu_ps(k0 + i), s0);
                s1 = _mm256_fmadd_ps(qi, _mm256_loadu_ps(k0 + stride + i), s1);
                s2 = _mm256_fmadd_ps(qi, _mm256_loadu_ps(k0 + 2 * stride + i), s2);
                s3 = _mm256_fmadd_ps(qi, _mm256_loadu_ps(k0 + 3 * stride + i), s3);
            }
            // horizontal sums of the four, in one vector
            const __m256 h01 = _mm256_hadd_ps(s0, s1), h23 = _mm256_hadd_ps(s2, s3);
            const __m256 h = _mm256_hadd_ps(h01, h23);
            const __m128 r = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
            _mm_storeu_ps(scores + j, _mm_mul_ps(r, _mm_set1_ps(scale)));
        }
    }
    for (; j < n; ++j) scores[j] = dot_f32(q, k + j * stride, d) * scale;
    float max = -INFINITY;
    for (j = 0; j < n; ++j) max = std::max(max, scores[j]);
    // 2. exponentials and their sum (eight lanes, then in order)
    __m256 sum8 = _mm256_setzero_ps();
    const __m256 vmax = _mm256_set1_ps(max);
    for (j = 0; j + 8 <= n; j += 8) {
        const __m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(scores + j), vmax));
        _mm256_storeu_ps(scores + j, e);
        sum8 = _mm256_add_ps(sum8, e);
    }
    float sum = hsum(sum8);
    for (; j < n; ++j) {
        scores[j] = std::exp(scores[j] - max);
        sum += scores[j];
    }
    // 3. P.V: 32 output values at a time held in registers over all positions
    int64_t i = 0;
    if (whole) {
        for (; i + 32 <= d; i += 32) {
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            for (j = 0; j < n; ++j) {
                const __m256 p = _mm256_set1_ps(scores[j]);
                const float* vr = v + j * stride + i;
                a0 = _mm256_fmadd_ps(p, _mm256_loadu_ps(vr), a0);
                a1 = _mm256_fmadd_ps(p, _mm256_loadu_ps(vr + 8), a1);
                a2 = _mm256_fmadd_ps(p, _mm256_loadu_ps(vr + 16), a2);
                a3 = _mm256_fmadd_ps(p, _mm256_loadu_ps(vr + 24), a3);
            }
            _mm256_storeu_ps(acc + i, a0);
            _mm256_storeu_ps(acc + i + 8, a1);
            _mm256_storeu_ps(acc + i + 16, a2);
            _mm256_storeu_ps(acc + i + 24, a3);
        }
        for (; i + 8 <= d; i += 8) {
            __m256 a0 = _mm256_setzero_ps();
            for (j = 0; j < n; ++j) a0 = _mm256_fmadd_ps(_mm256_set1_ps(scores[j]), _mm256_loadu_ps(v + j * stride + i), a0);
            _mm256_storeu_ps(acc + i, a0);
        }
    }
    for (; i < d; ++i) {
        float a = 0.0f;
        for (j = 0; j < n; ++j) a = std::fma(scores[j], v[j * stride + i], a);
        acc[i] = a;
    }
    return {max, sum};
}

float dot_f32(const float* a, const float* b, int64_t n) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
    }
    float sum = hsum(_mm256_add_ps(acc0, acc1));
    for (; i < n; ++i) sum += a[i] * b[i];
    return sum;
}

void axpy_f32(float a, const float* x, float* y, int64_t n) {
    const __m256 va = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; ++i) y[i] = std::fma(a, x[i], y[i]);
}

AttentionPartial attend_block_f16(const uint16_t* q16, const uint16_t* k, const uint16_t* v, int64_t stride,
                                  int64_t n, int64_t d, float scale, uint16_t* acc16, float* acc) {
    for (int64_t i = 0; i < d; ++i) acc16[i] = 0;
    float sum = 0.0f;
    float max = -INFINITY;
    for (int64_t j = 0; j < n; ++j) {
        const float s = dot_f16(q16, k + j * stride, d) * scale;
        float ms = 1.0f;
        float vs = 1.0f;
        int64_t i = 0;
        if (s > max) {
            ms = std::exp(max - s);
            max = s;
            const __m256 m = _mm256_set1_ps(ms);
            for (i = 0; i + 8 <= d; i += 8) store_f16(acc16 + i, _mm256_mul_ps(load_f16(acc16 + i), m));
            for (; i < d; ++i) acc16[i] = f32_to_f16(f16_to_f32(acc16[i]) * ms);
        } else {
            vs = std::exp(s - max);
        }
        const uint16_t* vr = v + j * stride;
        const __m256 w = _mm256_set1_ps(vs);
        for (i = 0; i + 8 <= d; i += 8) store_f16(acc16 + i, _mm256_fmadd_ps(load_f16(vr + i), w, load_f16(acc16 + i)));
        for (; i < d; ++i) acc16[i] = f32_to_f16(std::fma(f16_to_f32(vr[i]), vs, f16_to_f32(acc16[i])));
        sum = sum * ms + vs;
    }
    for (int64_t i = 0; i < d; ++i) acc[i] = f16_to_f32(acc16[i]);
    return {max, sum};
}


// The heads of one GQA group over one block, each bit for bit what
// attend_block_f16 computes for it alone: per head the same Q.K
// accumulation order (two eight-lane sums over 16-value steps, then one
// horizontal sum), the same scalar exp and the same f16 rounding of the P.V
// sum after every position. What is shared: each key and value row is
// converted from f16 once for all heads instead of once per head, and the
// query is converted once per block instead of once per position.
// heads <= kMaxGroupHeads, d a multiple of 16.
void attend_block_f16_group(const uint16_t* q16, int64_t heads, const uint16_t* k, const uint16_t* v, int64_t stride,
                            int64_t n, int64_t d, float scale, float* qf, uint16_t* acc16, float* acc,
                            AttentionPartial* parts) {
    // d is a multiple of 16 (the dispatcher checks), so heads * d of 8.
    for (int64_t i = 0; i < heads * d; i += 8) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(acc16 + i), _mm_setzero_si128());
        _mm256_storeu_ps(qf + i, load_f16(q16 + i));  // exact: every f16 is an f32
    }
    float sum[kMaxGroupHeads], max[kMaxGroupHeads], s[kMaxGroupHeads];
    for (int64_t h = 0; h < heads; ++h) {
        sum[h] = 0.0f;
        max[h] = -INFINITY;
    }
    for (int64_t j = 0; j < n; ++j) {
        const uint16_t* kr = k + j * stride;
        __m256 a0[kMaxGroupHeads], a1[kMaxGroupHeads];
        for (int64_t h = 0; h < heads; ++h) a0[h] = a1[h] = _mm256_setzero_ps();
        for (int64_t i = 0; i < d; i += 16) {
            const __m256 k0 = load_f16(kr + i), k1 = load_f16(kr + i + 8);
            for (int64_t h = 0; h < heads; ++h) {
                a0[h] = _mm256_fmadd_ps(_mm256_loadu_ps(qf + h * d + i), k0, a0[h]);
                a1[h] = _mm256_fmadd_ps(_mm256_loadu_ps(qf + h * d + i + 8), k1, a1[h]);
            }
        }
        float w[kMaxGroupHeads];
        for (int64_t h = 0; h < heads; ++h) {
            s[h] = hsum(_mm256_add_ps(a0[h], a1[h])) * scale;
            float ms = 1.0f, vs = 1.0f;
            if (s[h] > max[h]) {
                ms = std::exp(max[h] - s[h]);
                max[h] = s[h];
                const __m256 m = _mm256_set1_ps(ms);
                uint16_t* ah = acc16 + h * d;
                for (int64_t i = 0; i < d; i += 8) store_f16(ah + i, _mm256_mul_ps(load_f16(ah + i), m));
            } else {
                vs = std::exp(s[h] - max[h]);
            }
            w[h] = vs;
            sum[h] = sum[h] * ms + vs;
        }
        const uint16_t* vr = v + j * stride;
        for (int64_t i = 0; i < d; i += 8) {
            const __m256 vv = load_f16(vr + i);
            for (int64_t h = 0; h < heads; ++h) {
                uint16_t* ah = acc16 + h * d + i;
                store_f16(ah, _mm256_fmadd_ps(vv, _mm256_set1_ps(w[h]), load_f16(ah)));
            }
        }
    }
    for (int64_t i = 0; i < heads * d; i += 8) _mm256_storeu_ps(acc + i, load_f16(acc16 + i));
    for (int64_t h = 0; h < heads; ++h) parts[h] = {max[h], sum[h]};
}

void f32_to_f16_row(const float* x, uint16_t* y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) store_f16(y + i, _mm256_loadu_ps(x + i));
    for (; i < n; ++i) y[i] = f32_to_f16(x[i]);
}

}  // namespace apr::cpu::avx2
