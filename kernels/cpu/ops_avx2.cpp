// AVX2 + F16C + FMA versions of the attention row ops (kernels/cpu/ops.hpp).
// Compiled into the AVX2 kernel library; called only when the CPU has AVX2.
#include <immintrin.h>

#include <cmath>

#include "core/half.hpp"
#include "cpu/ops.hpp"

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

}  // namespace

void attend_head_f16(const uint16_t* q16, const uint16_t* k, const uint16_t* v, int64_t stride, int64_t n, int64_t d,
                     float scale, uint16_t* acc16, float* out) {
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
    const float inv = 1.0f / sum;
    for (int64_t i = 0; i < d; ++i) out[i] = f16_to_f32(acc16[i]) * inv;
}

}  // namespace apr::cpu::avx2
