// AVX2 activation quantizers: the scalar reference's float operations,
// eight at a time, so the bytes are identical (see scalar/quantize_activations.cpp).
#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "core/half.hpp"
#include "cpu/avx2/avx2_kernels.hpp"
#include "quant/blocks.hpp"

namespace apr::cpu::avx2 {

using namespace apr::quant;

namespace {

inline __m256 abs_ps(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }

inline float hmax(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

inline int hsum128(__m128i s) {
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

inline int hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

// roundf(): truncate, then step away from zero when the fraction is >= 0.5.
inline __m256i round_away_epi32(__m256 v) {
    const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 up = _mm256_cmp_ps(abs_ps(_mm256_sub_ps(v, t)), _mm256_set1_ps(0.5f), _CMP_GE_OQ);
    const __m256 one = _mm256_or_ps(_mm256_set1_ps(1.0f), _mm256_and_ps(v, _mm256_set1_ps(-0.0f)));
    return _mm256_cvttps_epi32(_mm256_add_ps(t, _mm256_and_ps(up, one)));
}

// Four vectors of 8 int32 -> 32 int8 in order, saturated to [-128, 127].
inline __m256i pack32(__m256i a, __m256i b, __m256i c, __m256i d) {
    const __m256i ab = _mm256_packs_epi32(a, b), cd = _mm256_packs_epi32(c, d);
    const __m256i bytes = _mm256_packs_epi16(ab, cd);
    // packs works per 128-bit lane: restore the order of the 4-byte groups.
    return _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

inline float amax32(const float* x) {
    __m256 m = abs_ps(_mm256_loadu_ps(x));
    for (int i = 8; i < 32; i += 8) m = _mm256_max_ps(m, abs_ps(_mm256_loadu_ps(x + i)));
    return hmax(m);
}

inline __m256i quantize32(const float* x, float id, int* sum) {
    const __m256 vid = _mm256_set1_ps(id);
    __m256i q[4];
    for (int i = 0; i < 4; ++i) q[i] = round_away_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * i), vid));
    if (sum) *sum = hsum_epi32(_mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3])));
    return pack32(q[0], q[1], q[2], q[3]);
}

}  // namespace

void quantize_row_q8_0(const float* x, void* out, int64_t k) {
    auto* y = static_cast<BlockQ8_0*>(out);
    for (int64_t b = 0; b < k / kQK; ++b, x += kQK) {
        const float d = amax32(x) / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = f32_to_f16(d);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[b].qs), quantize32(x, id, nullptr));
    }
}

void quantize_row_q8_1(const float* x, void* out, int64_t k) {
    auto* y = static_cast<BlockQ8_1*>(out);
    for (int64_t b = 0; b < k / kQK; ++b, x += kQK) {
        const float d = amax32(x) / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = f32_to_f16(d);
        int sum = 0;
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[b].qs), quantize32(x, id, &sum));
        y[b].s = f32_to_f16(static_cast<float>(sum) * d);
    }
}

void quantize_row_q8_K(const float* x, void* out, int64_t k) {
    auto* y = static_cast<BlockQ8_K*>(out);
    for (int64_t b = 0; b < k / kQKK; ++b, x += kQKK) {
        __m256 vmax = _mm256_setzero_ps();
        for (int i = 0; i < kQKK; i += 8) vmax = _mm256_max_ps(vmax, abs_ps(_mm256_loadu_ps(x + i)));
        const float amax = hmax(vmax);
        if (amax == 0.0f) {
            std::memset(&y[b], 0, sizeof y[b]);
            continue;
        }
        float max = 0.0f;  // the first value of largest magnitude, with its sign
        for (int i = 0; i < kQKK; ++i)
            if (std::fabs(x[i]) == amax) {
                max = x[i];
                break;
            }
        const float iscale = -127.0f / max;
        const __m256 vscale = _mm256_set1_ps(iscale);
        for (int i = 0; i < kQKK; i += 32) {
            __m256i q[4];
            for (int j = 0; j < 4; ++j)  // nearest_int(): round half to even
                q[j] = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i + 8 * j), vscale),
                                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
            const __m256i bytes = pack32(q[0], q[1], q[2], q[3]);
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[b].qs + i), bytes);
            // bsums from the saturated bytes, as the reference sums its int8 values.
            const __m256i s16 = _mm256_maddubs_epi16(_mm256_set1_epi8(1), bytes);
            const __m256i s32 = _mm256_madd_epi16(s16, _mm256_set1_epi16(1));
            y[b].bsums[i / 16] = static_cast<int16_t>(hsum128(_mm256_castsi256_si128(s32)));
            y[b].bsums[i / 16 + 1] = static_cast<int16_t>(hsum128(_mm256_extracti128_si256(s32, 1)));
        }
        y[b].d = 1.0f / iscale;
    }
}

}  // namespace apr::cpu::avx2
