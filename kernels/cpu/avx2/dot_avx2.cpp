// AVX2 + FMA dot products (one weight row x one activation row) for every
// matmul type: vpmaddubsw (unsigned weight x int8 activation -> int16 pairs)
// then vpmaddwd with the block scales (or ones) -> int32, one float FMA per
// block. Multi-token tiles reuse these through tile_by_vec_dot: AVX2 is the
// portable fallback; the multi-token speed work lives in the AVX-512 files.
#include <immintrin.h>

#include <cstring>

#include "cpu/avx2/avx2_kernels.hpp"
#include "cpu/scalar/scalar_kernels.hpp"
#include "quant/blocks.hpp"

namespace apr::cpu::avx2 {

using namespace apr::quant;

namespace {

inline float half(uint16_t h) { return _cvtsh_ss(h); }

inline float hsum_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// 16-bit lanes 0..7 = lo, 8..15 = hi.
inline __m256i two_scales(int lo, int hi) {
    return _mm256_set_m128i(_mm_set1_epi16(static_cast<int16_t>(hi)), _mm_set1_epi16(static_cast<int16_t>(lo)));
}

}  // namespace

float dot_q4_K(int64_t k, const void* wv, const void* av) {
    const auto* w = static_cast<const BlockQ4_K*>(wv);
    const auto* a = static_cast<const BlockQ8_K*>(av);
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < k / kQKK; ++b) {
        int sc[8], mn[8];
        for (int j = 0; j < 8; ++j) scalar::k4_scale_min(j, w[b].scales, sc[j], mn[j]);
        __m256i isum = _mm256_setzero_si256();
        for (int p = 0; p < 4; ++p) {  // 32 bytes of qs: sub-blocks 2p (low nibbles), 2p+1 (high)
            const __m256i raw = load256(w[b].qs + 32 * p);
            const __m256i lo = _mm256_and_si256(raw, m4), hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
            const __m256i d0 = _mm256_maddubs_epi16(lo, load256(a[b].qs + 64 * p));
            const __m256i d1 = _mm256_maddubs_epi16(hi, load256(a[b].qs + 64 * p + 32));
            isum = _mm256_add_epi32(isum, _mm256_madd_epi16(d0, _mm256_set1_epi16(static_cast<int16_t>(sc[2 * p]))));
            isum = _mm256_add_epi32(isum, _mm256_madd_epi16(d1, _mm256_set1_epi16(static_cast<int16_t>(sc[2 * p + 1]))));
        }
        // mins: each pairs with two bsums (16 values each).
        alignas(32) int16_t mpair[16];
        for (int j = 0; j < 16; ++j) mpair[j] = static_cast<int16_t>(mn[j / 2]);
        const __m256i msum = _mm256_madd_epi16(_mm256_load_si256(reinterpret_cast<const __m256i*>(mpair)), load256(a[b].bsums));
        const float da = a[b].d;
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(half(w[b].d) * da), acc);
        acc = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(msum), _mm256_set1_ps(half(w[b].dmin) * da), acc);
    }
    return hsum_ps(acc);
}

float dot_q5_K(int64_t k, const void* wv, const void* av) {
    const auto* w = static_cast<const BlockQ5_K*>(wv);
    const auto* a = static_cast<const BlockQ8_K*>(av);
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < k / kQKK; ++b) {
        int sc[8], mn[8];
        for (int j = 0; j < 8; ++j) scalar::k4_scale_min(j, w[b].scales, sc[j], mn[j]);
        const __m256i qh = load256(w[b].qh);
        __m256i isum = _mm256_setzero_si256();
        for (int p = 0; p < 4; ++p) {
            const __m256i raw = load256(w[b].qs + 32 * p);
            // Fifth bit of sub-block j is bit j of qh[l]: 16 when set.
            const __m256i b0 = _mm256_set1_epi8(static_cast<char>(1 << (2 * p)));
            const __m256i b1 = _mm256_set1_epi8(static_cast<char>(1 << (2 * p + 1)));
            const __m256i h0 = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, b0), b0), _mm256_set1_epi8(16));
            const __m256i h1 = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, b1), b1), _mm256_set1_epi8(16));
            const __m256i lo = _mm256_or_si256(_mm256_and_si256(raw, m4), h0);
            const __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(raw, 4), m4), h1);
            const __m256i d0 = _mm256_maddubs_epi16(lo, load256(a[b].qs + 64 * p));
            const __m256i d1 = _mm256_maddubs_epi16(hi, load256(a[b].qs + 64 * p + 32));
            isum = _mm256_add_epi32(isum, _mm256_madd_epi16(d0, _mm256_set1_epi16(static_cast<int16_t>(sc[2 * p]))));
            isum = _mm256_add_epi32(isum, _mm256_madd_epi16(d1, _mm256_set1_epi16(static_cast<int16_t>(sc[2 * p + 1]))));
        }
        alignas(32) int16_t mpair[16];
        for (int j = 0; j < 16; ++j) mpair[j] = static_cast<int16_t>(mn[j / 2]);
        const __m256i msum = _mm256_madd_epi16(_mm256_load_si256(reinterpret_cast<const __m256i*>(mpair)), load256(a[b].bsums));
        const float da = a[b].d;
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(half(w[b].d) * da), acc);
        acc = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(msum), _mm256_set1_ps(half(w[b].dmin) * da), acc);
    }
    return hsum_ps(acc);
}

float dot_q6_K(int64_t k, const void* wv, const void* av) {
    const auto* w = static_cast<const BlockQ6_K*>(wv);
    const auto* a = static_cast<const BlockQ8_K*>(av);
    const __m256i m4 = _mm256_set1_epi8(0x0f), m30 = _mm256_set1_epi8(0x30);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < k / kQKK; ++b) {
        const int8_t* sc = w[b].scales;
        __m256i isum = _mm256_setzero_si256();
        for (int h = 0; h < 2; ++h) {  // 128 values: ql[64h..], qh[32h..]
            const __m256i ql0 = load256(w[b].ql + 64 * h), ql1 = load256(w[b].ql + 64 * h + 32);
            const __m256i qh = load256(w[b].qh + 32 * h);
            const __m256i q[4] = {
                _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m30)),
                _mm256_or_si256(_mm256_and_si256(ql1, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m30)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4), _mm256_and_si256(qh, m30)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                                _mm256_and_si256(_mm256_srli_epi16(qh, 2), m30))};
            for (int i = 0; i < 4; ++i) {
                const int g = 8 * h + 2 * i;  // 16-value groups g, g+1
                const __m256i d = _mm256_maddubs_epi16(q[i], load256(a[b].qs + 128 * h + 32 * i));
                isum = _mm256_add_epi32(isum, _mm256_madd_epi16(d, two_scales(sc[g], sc[g + 1])));
            }
        }
        // Values are stored +32: subtract 32 * sum_g scale_g * bsum_g.
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sc)));
        const __m256i offset = _mm256_madd_epi16(sc16, load256(a[b].bsums));
        isum = _mm256_sub_epi32(isum, _mm256_slli_epi32(offset, 5));
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(half(w[b].d) * a[b].d), acc);
    }
    return hsum_ps(acc);
}

namespace {

inline __m256i nibbles32(const uint8_t* qs) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(x, 4), x), _mm256_set1_epi8(0x0f));
}

// Bit j of the 32-bit qh -> byte j = 16 if set.
inline __m256i high_bits32(const uint8_t* qh) {
    uint32_t bits;
    std::memcpy(&bits, qh, 4);
    const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(bits)),
                                               _mm256_setr_epi64x(0, 0x0101010101010101ll, 0x0202020202020202ll,
                                                                  0x0303030303030303ll));
    const __m256i mask = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ull));
    return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(spread, mask), mask), _mm256_set1_epi8(16));
}

// sum of w * a over 32 int8 pairs (w signed): |w| x sign(a, w) with maddubs.
inline __m256i dot32_signed(__m256i w, __m256i a) {
    const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w));
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}
inline __m256i dot32_unsigned(__m256i q, __m256i a) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(q, a), _mm256_set1_epi16(1));
}

template <typename Block, typename Decode>
float signed_dot(int64_t k, const void* wv, const void* av, Decode decode) {
    const auto* w = static_cast<const Block*>(wv);
    const auto* a = static_cast<const BlockQ8_0*>(av);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < k / kQK; ++b) {
        const __m256i isum = dot32_signed(decode(w[b]), load256(a[b].qs));
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(half(w[b].d) * half(a[b].d)), acc);
    }
    return hsum_ps(acc);
}

template <typename Block, typename Decode>
float unsigned_dot(int64_t k, const void* wv, const void* av, Decode decode) {
    const auto* w = static_cast<const Block*>(wv);
    const auto* a = static_cast<const BlockQ8_1*>(av);
    __m256 acc = _mm256_setzero_ps();
    float min_sum = 0.0f;
    for (int64_t b = 0; b < k / kQK; ++b) {
        const __m256i isum = dot32_unsigned(decode(w[b]), load256(a[b].qs));
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(half(w[b].d) * half(a[b].d)), acc);
        min_sum += half(w[b].m) * half(a[b].s);
    }
    return hsum_ps(acc) + min_sum;
}

template <bool BF16>
inline __m256 load8_half(const uint16_t* p) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    if constexpr (BF16) return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    else return _mm256_cvtph_ps(h);
}

}  // namespace

float dot_q8_0(int64_t k, const void* w, const void* a) {
    return signed_dot<BlockQ8_0>(k, w, a, [](const BlockQ8_0& b) { return load256(b.qs); });
}
float dot_q4_0(int64_t k, const void* w, const void* a) {
    return signed_dot<BlockQ4_0>(k, w, a, [](const BlockQ4_0& b) {
        return _mm256_sub_epi8(nibbles32(b.qs), _mm256_set1_epi8(8));
    });
}
float dot_q5_0(int64_t k, const void* w, const void* a) {
    return signed_dot<BlockQ5_0>(k, w, a, [](const BlockQ5_0& b) {
        return _mm256_sub_epi8(_mm256_or_si256(nibbles32(b.qs), high_bits32(b.qh)), _mm256_set1_epi8(16));
    });
}
float dot_q4_1(int64_t k, const void* w, const void* a) {
    return unsigned_dot<BlockQ4_1>(k, w, a, [](const BlockQ4_1& b) { return nibbles32(b.qs); });
}
float dot_q5_1(int64_t k, const void* w, const void* a) {
    return unsigned_dot<BlockQ5_1>(k, w, a, [](const BlockQ5_1& b) {
        return _mm256_or_si256(nibbles32(b.qs), high_bits32(b.qh));
    });
}

float dot_f32(int64_t k, const void* wv, const void* av) {
    const auto* w = static_cast<const float*>(wv);
    const auto* a = static_cast<const float*>(av);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= k; i += 16) {
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), _mm256_loadu_ps(a + i), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 8), _mm256_loadu_ps(a + i + 8), acc1);
    }
    float sum = hsum_ps(_mm256_add_ps(acc0, acc1));
    for (; i < k; ++i) sum += w[i] * a[i];
    return sum;
}

template <bool BF16>
static float half_dot(int64_t k, const void* wv, const void* av) {
    const auto* w = static_cast<const uint16_t*>(wv);
    const auto* a = static_cast<const float*>(av);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= k; i += 16) {
        acc0 = _mm256_fmadd_ps(load8_half<BF16>(w + i), _mm256_loadu_ps(a + i), acc0);
        acc1 = _mm256_fmadd_ps(load8_half<BF16>(w + i + 8), _mm256_loadu_ps(a + i + 8), acc1);
    }
    float sum = hsum_ps(_mm256_add_ps(acc0, acc1));
    if (i < k) sum += (BF16 ? scalar::dot_bf16 : scalar::dot_f16)(k - i, w + i, a + i);
    return sum;
}

float dot_f16(int64_t k, const void* w, const void* a) { return half_dot<false>(k, w, a); }
float dot_bf16(int64_t k, const void* w, const void* a) { return half_dot<true>(k, w, a); }

}  // namespace apr::cpu::avx2
