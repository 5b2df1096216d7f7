// AVX-512 (BW + VNNI) dot products of Q4_K / Q5_K / Q6_K weights with Q8_K
// activations, for NT activation rows at once: each weight super-block is
// unpacked to bytes once and then multiplied with NT tokens, which is what
// makes prompt processing fast. The per-token arithmetic does not depend on
// NT, so every result is bit-identical to the one-token (vec_dot) version.
//
// Per 64 values: vpmaddubsw (unsigned 4..6-bit weight x int8 activation ->
// int16 pair sums, no overflow: 2 * 63 * 127 < 32767), then vpdpwssd with the
// sub-block scales (int16) accumulates int32. Per super-block one float FMA
// by d_w * d_a; the K-quant mins come in through the activation bsums.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "cpu/avx512/avx512_kernels.hpp"
#include "quant/blocks.hpp"

namespace apr::cpu::avx512 {

using namespace apr::quant;

namespace {

// Half -> float in one instruction (F16C); the portable f16_to_f32 branches.
inline float half(uint16_t h) { return _cvtsh_ss(h); }

// The 12 packed bytes of Q4_K/Q5_K scales -> 8 scales (bytes 0..7) and
// 8 mins (bytes 8..15) of 6 bits each.
inline __m128i unpack_k4_scales(const uint8_t* packed) {
    // In dwords u0, u1, u2 (a masked load: exactly the 12 bytes are read).
    // Sub-blocks 0..3 keep their 6 bits in bytes 0..3 (scales) and 4..7
    // (mins); sub-blocks 4..7 take 4 bits from bytes 8..11 (low nibbles:
    // scales, high: mins) and their top two bits from the spare top bits of
    // bytes 0..7. Result dwords: scales 0-3, scales 4-7, mins 0-3, mins 4-7.
    // Done in one xmm rather than scalar code plus inserts.
    const __m128i u = _mm_maskz_loadu_epi8(0x0fff, packed);
    const __m128i u0212 = _mm_shuffle_epi32(u, _MM_SHUFFLE(2, 1, 2, 0));
    const __m128i low = _mm_and_si128(_mm_srlv_epi32(u0212, _mm_setr_epi32(0, 0, 0, 4)),
                                      _mm_setr_epi32(0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f));
    const __m128i u0011 = _mm_shuffle_epi32(u, _MM_SHUFFLE(1, 1, 0, 0));
    // (byte >> 6) << 4 == (byte >> 2) & 0x30; bits shifted in from the
    // neighbouring byte land in bits 6-7 and are masked away.
    const __m128i top = _mm_and_si128(_mm_srli_epi32(u0011, 2), _mm_setr_epi32(0, 0x30303030, 0, 0x30303030));
    return _mm_or_si128(low, top);
}

// vpshufb controls that turn the 16 bytes of unpack_k4_scales (broadcast to
// all four 128-bit lanes) straight into zero-extended int16 vectors: one
// in-lane shuffle per vector instead of a widening plus a cross-lane vpermw
// (cheaper on the T=1 path, where this prologue costs as much as the dot).
// Controls 0..3: group j's scales (int16 lanes 0..15 = scale 2j, 16..31 =
// scale 2j+1); control 4: the mins, each twice, in lanes 0..15, rest zero.
struct K4ScaleShuffles {
    alignas(64) int8_t ctrl[5][64];
    constexpr K4ScaleShuffles() : ctrl{} {
        for (int j = 0; j < 4; ++j)
            for (int l = 0; l < 32; ++l) {
                ctrl[j][2 * l] = static_cast<int8_t>(2 * j + l / 16);
                ctrl[j][2 * l + 1] = -128;  // high byte 0
            }
        for (int l = 0; l < 32; ++l) {
            ctrl[4][2 * l] = l < 16 ? static_cast<int8_t>(8 + l / 2) : int8_t{-128};
            ctrl[4][2 * l + 1] = -128;
        }
    }
};
constexpr K4ScaleShuffles kK4Shuffles;

// Q6_K's 16 signed scales (int16) -> group j's int16 lanes 8g..8g+7 take
// scale 4j+g. (A vpshufb + shift by 8 variant, as for Q4_K, measured 2%
// slower on Zen 5 and only 2-5% faster on Sapphire Rapids, so Q6_K keeps
// the cross-lane vpermw.)
inline void spread_q6_scales(__m512i scales16, __m512i out[4]) {
    for (int j = 0; j < 4; ++j) {
        alignas(64) int16_t idx[32];
        for (int l = 0; l < 32; ++l) idx[l] = static_cast<int16_t>(4 * j + l / 8);
        out[j] = _mm512_permutexvar_epi16(_mm512_load_si512(idx), scales16);
    }
}

inline __m512i k4_shuffle(__m512i scales_x4, int which) {
    return _mm512_shuffle_epi8(scales_x4, _mm512_load_si512(kK4Shuffles.ctrl[which]));
}

inline __m512i q8_load(const BlockQ8_K& a, int j) { return _mm512_loadu_si512(a.qs + 64 * j); }

// Four 64-value groups of a Q4_K block, one value per byte: group j holds
// sub-block 2j (low nibbles of qs[32j..]) then 2j+1 (high nibbles).
inline void unpack_q4_K(const BlockQ4_K& w, __m512i q[4]) {
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    for (int h = 0; h < 2; ++h) {
        const __m512i raw = _mm512_loadu_si512(w.qs + 64 * h);
        const __m512i lo = _mm512_and_si512(raw, m4);
        const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(raw, 4), m4);
        q[2 * h] = _mm512_shuffle_i64x2(lo, hi, _MM_SHUFFLE(1, 0, 1, 0));
        q[2 * h + 1] = _mm512_shuffle_i64x2(lo, hi, _MM_SHUFFLE(3, 2, 3, 2));
    }
}

// As Q4_K plus the fifth bit: bit j of qh[l] belongs to value l of sub-block j.
inline void unpack_q5_K(const BlockQ5_K& w, __m512i q[4]) {
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.qh));
    const __m512i qh2 = _mm512_inserti64x4(_mm512_castsi256_si512(qh), qh, 1);
    for (int h = 0; h < 2; ++h) {
        const __m512i raw = _mm512_loadu_si512(w.qs + 64 * h);
        const __m512i lo = _mm512_and_si512(raw, m4);
        const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(raw, 4), m4);
        for (int s = 0; s < 2; ++s) {
            const int j = 2 * h + s;  // group j: sub-blocks 2j (lower 32 bytes), 2j+1 (upper)
            const __m512i nib = s == 0 ? _mm512_shuffle_i64x2(lo, hi, _MM_SHUFFLE(1, 0, 1, 0))
                                       : _mm512_shuffle_i64x2(lo, hi, _MM_SHUFFLE(3, 2, 3, 2));
            const __mmask64 lower = 0x00000000ffffffffull;
            const __m512i bit_lo = _mm512_set1_epi8(static_cast<char>(1 << (2 * j)));
            const __m512i bit_hi = _mm512_set1_epi8(static_cast<char>(1 << (2 * j + 1)));
            const __m512i bits = _mm512_mask_blend_epi8(lower, bit_hi, bit_lo);
            const __mmask64 set = _mm512_test_epi8_mask(qh2, bits);
            q[j] = _mm512_mask_add_epi8(nib, set, nib, _mm512_set1_epi8(16));
        }
    }
}

// Q6_K: 6-bit values 0..63 (the -32 offset goes through bsums). Half h
// (128 values) uses ql[64h..64h+63] and qh[32h..32h+31]; its first group is
// the low nibbles of those 64 ql bytes with qh bits 0-1 (first 32) and 2-3
// (next 32), its second group the high nibbles with bits 4-5 and 6-7.
inline void unpack_q6_K(const BlockQ6_K& w, __m512i q[4]) {
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    const __m512i m30 = _mm512_set1_epi8(0x30);
    const __m512i qh_all = _mm512_loadu_si512(w.qh);
    // 16-bit lane shifts; every byte's bits stay within the byte after the
    // 0x30 mask. Lower 256 bits: first 32 values, upper: next 32.
    const __m512i shl = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1);
    const __m512i shr = _mm512_inserti64x4(_mm512_set1_epi16(0), _mm256_set1_epi16(2), 1);
    for (int h = 0; h < 2; ++h) {
        const __m512i ql = _mm512_loadu_si512(w.ql + 64 * h);
        const __m512i qh = h == 0 ? _mm512_shuffle_i64x2(qh_all, qh_all, _MM_SHUFFLE(1, 0, 1, 0))
                                  : _mm512_shuffle_i64x2(qh_all, qh_all, _MM_SHUFFLE(3, 2, 3, 2));
        q[2 * h] = _mm512_or_si512(_mm512_and_si512(ql, m4), _mm512_and_si512(_mm512_sllv_epi16(qh, shl), m30));
        q[2 * h + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4),
                                       _mm512_and_si512(_mm512_srlv_epi16(qh, shr), m30));
    }
}

// sum over the 4 groups of scale * (weight . activation), int32 lanes.
inline __m512i scaled_dot(const __m512i q[4], const __m512i sc[4], const BlockQ8_K& a) {
    __m512i acc = _mm512_setzero_si512();
    for (int j = 0; j < 4; ++j) acc = _mm512_dpwssd_epi32(acc, _mm512_maddubs_epi16(q[j], q8_load(a, j)), sc[j]);
    return acc;
}

// The mins term of Q4_K / Q5_K: sum_j min_j * (bsum_2j + bsum_2j+1) in
// int32 lanes 0..7 (lanes 8..15 are 0 * something = 0).
inline __m512i min_dot(__m512i mins_pairs, const BlockQ8_K& a) {
    const __m256i bsums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.bsums));
    return _mm512_madd_epi16(mins_pairs, _mm512_castsi256_si512(bsums));
}

template <typename Block, void (*Unpack)(const Block&, __m512i*), int NT>
void k4_kernel(int64_t nb, const Block* w, const BlockQ8_K* const a[NT], float out[NT]) {
    __m512 acc[NT];
    for (int t = 0; t < NT; ++t) acc[t] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
        __m512i q[4], sc[4];
        Unpack(w[b], q);
        const __m512i sm4 = _mm512_broadcast_i32x4(unpack_k4_scales(w[b].scales));
        for (int j = 0; j < 4; ++j) sc[j] = k4_shuffle(sm4, j);
        // mins as int16, each twice (2 bsums per sub-block), upper half zero.
        const __m512i mins = k4_shuffle(sm4, 4);
        const __m512 d = _mm512_set1_ps(half(w[b].d));
        const __m512 dmin = _mm512_set1_ps(half(w[b].dmin));
        for (int t = 0; t < NT; ++t) {
            const BlockQ8_K& at = a[t][b];
            const __m512 da = _mm512_set1_ps(at.d);
            const __m512i isum = scaled_dot(q, sc, at);
            const __m512i msum = min_dot(mins, at);
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_mul_ps(d, da), acc[t]);
            acc[t] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(msum), _mm512_mul_ps(dmin, da), acc[t]);
        }
    }
    for (int t = 0; t < NT; ++t) out[t] = _mm512_reduce_add_ps(acc[t]);
}

template <int NT>
void q6_K_kernel(int64_t nb, const BlockQ6_K* w, const BlockQ8_K* const a[NT], float out[NT]) {
    __m512 acc[NT];
    for (int t = 0; t < NT; ++t) acc[t] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
        __m512i q[4], sc[4];
        unpack_q6_K(w[b], q);
        const __m256i scales16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w[b].scales)));
        spread_q6_scales(_mm512_castsi256_si512(scales16), sc);
        // The -32 offset of every value: -32 * sum_g scale_g * bsum_g.
        const __m512i offset = _mm512_zextsi256_si512(_mm256_mullo_epi16(scales16, _mm256_set1_epi16(-32)));
        const __m512 d = _mm512_set1_ps(half(w[b].d));
        for (int t = 0; t < NT; ++t) {
            const BlockQ8_K& at = a[t][b];
            const __m512i isum = _mm512_add_epi32(scaled_dot(q, sc, at), min_dot(offset, at));
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_mul_ps(d, _mm512_set1_ps(at.d)), acc[t]);
        }
    }
    for (int t = 0; t < NT; ++t) out[t] = _mm512_reduce_add_ps(acc[t]);
}

// The three weight types as kernel families: run<NT> multiplies one weight
// row with NT activation rows.
struct Q4K {
    using Block = BlockQ4_K;
    template <int NT>
    static void run(int64_t nb, const Block* w, const BlockQ8_K* const a[NT], float out[NT]) {
        k4_kernel<BlockQ4_K, unpack_q4_K, NT>(nb, w, a, out);
    }
};
struct Q5K {
    using Block = BlockQ5_K;
    template <int NT>
    static void run(int64_t nb, const Block* w, const BlockQ8_K* const a[NT], float out[NT]) {
        k4_kernel<BlockQ5_K, unpack_q5_K, NT>(nb, w, a, out);
    }
};
struct Q6K {
    using Block = BlockQ6_K;
    template <int NT>
    static void run(int64_t nb, const Block* w, const BlockQ8_K* const a[NT], float out[NT]) {
        q6_K_kernel<NT>(nb, w, a, out);
    }
};

template <typename K>
float vec_dot_via(int64_t k, const void* w, const void* a) {
    const BlockQ8_K* act[1] = {static_cast<const BlockQ8_K*>(a)};
    float out[1];
    K::template run<1>(k / kQKK, static_cast<const typename K::Block*>(w), act, out);
    return out[0];
}

template <typename K, int NT>
inline void run_group(int64_t nb, const typename K::Block* wr, const std::byte* act, size_t act_row_bytes,
                      int64_t t, float* y, int64_t y_stride, int64_t r) {
    const BlockQ8_K* a[NT];
    float out[NT];
    for (int i = 0; i < NT; ++i) a[i] = reinterpret_cast<const BlockQ8_K*>(act + (t + i) * act_row_bytes);
    K::template run<NT>(nb, wr, a, out);
    for (int i = 0; i < NT; ++i) y[(t + i) * y_stride + r] = out[i];
}

// Tokens in groups of 8 (then 4, 2, 1), and within a group every row of the
// tile: the group's activations (8 x 1.1 KiB per 1024 columns) stay in L1
// while the weight rows stream past, and each weight super-block is unpacked
// once per 8 tokens.
template <typename K>
void tile_via(int64_t k, const std::byte* w, size_t w_row_bytes, int64_t nrows, const std::byte* act,
              size_t act_row_bytes, int64_t ntok, float* y, int64_t y_stride) {
    const int64_t nb = k / kQKK;
    auto rows = [&]<int NT>(int64_t t) {
        for (int64_t r = 0; r < nrows; ++r)
            run_group<K, NT>(nb, reinterpret_cast<const typename K::Block*>(w + r * w_row_bytes), act, act_row_bytes,
                             t, y, y_stride, r);
    };
    int64_t t = 0;
    for (; t + 8 <= ntok; t += 8) rows.template operator()<8>(t);
    if (t + 4 <= ntok) rows.template operator()<4>(t), t += 4;
    if (t + 2 <= ntok) rows.template operator()<2>(t), t += 2;
    if (t < ntok) rows.template operator()<1>(t);
}

}  // namespace

float dot_q4_K(int64_t k, const void* w, const void* a) { return vec_dot_via<Q4K>(k, w, a); }
float dot_q5_K(int64_t k, const void* w, const void* a) { return vec_dot_via<Q5K>(k, w, a); }
float dot_q6_K(int64_t k, const void* w, const void* a) { return vec_dot_via<Q6K>(k, w, a); }

void tile_q4_K(int64_t k, const std::byte* w, size_t wb, int64_t nrows, const std::byte* act, size_t ab,
               int64_t ntok, float* y, int64_t ys) {
    tile_via<Q4K>(k, w, wb, nrows, act, ab, ntok, y, ys);
}
void tile_q5_K(int64_t k, const std::byte* w, size_t wb, int64_t nrows, const std::byte* act, size_t ab,
               int64_t ntok, float* y, int64_t ys) {
    tile_via<Q5K>(k, w, wb, nrows, act, ab, ntok, y, ys);
}
void tile_q6_K(int64_t k, const std::byte* w, size_t wb, int64_t nrows, const std::byte* act, size_t ab,
               int64_t ntok, float* y, int64_t ys) {
    tile_via<Q6K>(k, w, wb, nrows, act, ab, ntok, y, ys);
}

}  // namespace apr::cpu::avx512
