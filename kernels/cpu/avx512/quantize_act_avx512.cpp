// AVX-512 activation quantizers. Same float operations as the scalar
// reference (amax, d = amax / 127, id = 1 / d, x * id, the same rounding
// mode), so the output bytes are identical; only the loops are wider.
#include <immintrin.h>

#include <cstring>

#include "core/half.hpp"
#include "cpu/avx512/avx512_kernels.hpp"
#include "quant/blocks.hpp"

namespace apr::cpu::avx512 {

using namespace apr::quant;

namespace {

inline __m512 abs_ps(__m512 v) { return _mm512_abs_ps(v); }

// roundf(): round half away from zero. trunc, then step one away from zero
// when the dropped fraction is >= 0.5 (x - trunc(x) is exact in float).
inline __m512i round_away_epi32(__m512 v) {
    const __m512 t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __mmask16 up = _mm512_cmp_ps_mask(abs_ps(_mm512_sub_ps(v, t)), _mm512_set1_ps(0.5f), _CMP_GE_OQ);
    const __m512 one = _mm512_or_ps(_mm512_set1_ps(1.0f), _mm512_and_ps(v, _mm512_set1_ps(-0.0f)));
    return _mm512_cvttps_epi32(_mm512_mask_add_ps(t, up, t, one));
}

// 32 values -> 32 int8 of round(x * id), saturated like the reference.
inline __m256i quantize32(const float* x, float id, __m512i* sum16 = nullptr) {
    const __m512 vid = _mm512_set1_ps(id);
    const __m512i q0 = round_away_epi32(_mm512_mul_ps(_mm512_loadu_ps(x), vid));
    const __m512i q1 = round_away_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + 16), vid));
    if (sum16) *sum16 = _mm512_add_epi32(q0, q1);
    return _mm256_set_m128i(_mm512_cvtsepi32_epi8(q1), _mm512_cvtsepi32_epi8(q0));
}

inline float amax32(const float* x) {
    return _mm512_reduce_max_ps(_mm512_max_ps(abs_ps(_mm512_loadu_ps(x)), abs_ps(_mm512_loadu_ps(x + 16))));
}

}  // namespace

void quantize_row_q8_0(const float* x, void* out, int64_t k) {
    auto* y = static_cast<BlockQ8_0*>(out);
    for (int64_t b = 0; b < k / kQK; ++b, x += kQK) {
        const float d = amax32(x) / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = f32_to_f16(d);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[b].qs), quantize32(x, id));
    }
}

void quantize_row_q8_1(const float* x, void* out, int64_t k) {
    auto* y = static_cast<BlockQ8_1*>(out);
    for (int64_t b = 0; b < k / kQK; ++b, x += kQK) {
        const float d = amax32(x) / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = f32_to_f16(d);
        __m512i sum;
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[b].qs), quantize32(x, id, &sum));
        // |q| <= 127 so the int32 sum of the saturated and unsaturated values agree.
        y[b].s = f32_to_f16(static_cast<float>(_mm512_reduce_add_epi32(sum)) * d);
    }
}

void quantize_row_q8_K(const float* x, void* out, int64_t k) {
    auto* y = static_cast<BlockQ8_K*>(out);
    for (int64_t b = 0; b < k / kQKK; ++b, x += kQKK) {
        __m512 vmax = _mm512_setzero_ps();
        for (int i = 0; i < kQKK; i += 16) vmax = _mm512_max_ps(vmax, abs_ps(_mm512_loadu_ps(x + i)));
        const float amax = _mm512_reduce_max_ps(vmax);
        if (amax == 0.0f) {
            std::memset(&y[b], 0, sizeof y[b]);
            continue;
        }
        // The first value whose magnitude is amax gives the scale and sign.
        float max = 0.0f;
        const __m512 vamax = _mm512_set1_ps(amax);
        for (int i = 0; i < kQKK; i += 16) {
            const __mmask16 hit = _mm512_cmp_ps_mask(abs_ps(_mm512_loadu_ps(x + i)), vamax, _CMP_EQ_OQ);
            if (hit) {
                max = x[i + __builtin_ctz(hit)];
                break;
            }
        }
        const float iscale = -127.0f / max;
        const __m512 vscale = _mm512_set1_ps(iscale);
        for (int g = 0; g < kQKK / 16; ++g) {
            // nearest_int() rounds half to even: the default rounding mode.
            const __m512i q = _mm512_cvt_roundps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + 16 * g), vscale),
                                                       _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            const __m512i qc = _mm512_min_epi32(_mm512_max_epi32(q, _mm512_set1_epi32(-128)), _mm512_set1_epi32(127));
            _mm_storeu_si128(reinterpret_cast<__m128i*>(y[b].qs + 16 * g), _mm512_cvtepi32_epi8(qc));
            y[b].bsums[g] = static_cast<int16_t>(_mm512_reduce_add_epi32(qc));
        }
        y[b].d = 1.0f / iscale;
    }
}

}  // namespace apr::cpu::avx512
