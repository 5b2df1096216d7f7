// AVX-512 (VL + VNNI) dot products of the 32-value block types with Q8_0 /
// Q8_1 activations, and of F32 / F16 / BF16 weights with f32 activations.
// Each weight block is decoded to 32 bytes once and multiplied with NT
// activation rows (vpdpbusd on 256-bit vectors); the per-token arithmetic
// does not depend on NT, so tiles equal vec_dot bit for bit.
#include <immintrin.h>

#include <cstring>

#include "cpu/avx512/avx512_kernels.hpp"
#include "cpu/kernel_table.hpp"
#include "quant/blocks.hpp"

namespace apr::cpu::avx512 {

using namespace apr::quant;

namespace {

inline float half(uint16_t h) { return _cvtsh_ss(h); }

// Values 0..31 of a 4-bit block: low nibbles are 0..15, high nibbles 16..31.
inline __m256i nibbles32(const uint8_t* qs) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(x, 4), x), _mm256_set1_epi8(0x0f));
}

// The fifth bits of a Q5 block: bit j of qh is value j's 16.
inline __m256i high_bits32(const uint8_t* qh) {
    uint32_t bits;
    std::memcpy(&bits, qh, 4);
    return _mm256_maskz_mov_epi8(bits, _mm256_set1_epi8(16));
}

// A decoded weight block. Signed types keep |w| (unsigned) and the
// activation takes w's sign, so vpdpbusd (u8 x s8) computes w . a exactly.
struct Decoded {
    __m256i w;  // |w| for signed types, q for unsigned ones
    __m256i sign_source;  // w itself for signed types
    float d, m;
};

struct Q8_0W {
    using Block = BlockQ8_0;
    using Act = BlockQ8_0;
    static constexpr bool kSigned = true, kHasMin = false;
    static Decoded decode(const Block& b) {
        const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs));
        return {_mm256_abs_epi8(w), w, half(b.d), 0.0f};
    }
};
struct Q4_0W {
    using Block = BlockQ4_0;
    using Act = BlockQ8_0;
    static constexpr bool kSigned = true, kHasMin = false;
    static Decoded decode(const Block& b) {
        const __m256i w = _mm256_sub_epi8(nibbles32(b.qs), _mm256_set1_epi8(8));
        return {_mm256_abs_epi8(w), w, half(b.d), 0.0f};
    }
};
struct Q5_0W {
    using Block = BlockQ5_0;
    using Act = BlockQ8_0;
    static constexpr bool kSigned = true, kHasMin = false;
    static Decoded decode(const Block& b) {
        const __m256i w = _mm256_sub_epi8(_mm256_or_si256(nibbles32(b.qs), high_bits32(b.qh)), _mm256_set1_epi8(16));
        return {_mm256_abs_epi8(w), w, half(b.d), 0.0f};
    }
};
struct Q4_1W {
    using Block = BlockQ4_1;
    using Act = BlockQ8_1;
    static constexpr bool kSigned = false, kHasMin = true;
    static Decoded decode(const Block& b) { return {nibbles32(b.qs), _mm256_setzero_si256(), half(b.d), half(b.m)}; }
};
struct Q5_1W {
    using Block = BlockQ5_1;
    using Act = BlockQ8_1;
    static constexpr bool kSigned = false, kHasMin = true;
    static Decoded decode(const Block& b) {
        return {_mm256_or_si256(nibbles32(b.qs), high_bits32(b.qh)), _mm256_setzero_si256(), half(b.d), half(b.m)};
    }
};

// Activation s (= d * sum(q)) for the min term; only Q8_1 has it.
inline float act_s(const BlockQ8_1& a) { return half(a.s); }
inline float act_s(const BlockQ8_0&) { return 0.0f; }

template <typename W, int NT>
void legacy_kernel(int64_t nb, const typename W::Block* w, const typename W::Act* const a[NT], float out[NT]) {
    __m256 acc[NT];
    float min_acc[NT];
    for (int t = 0; t < NT; ++t) acc[t] = _mm256_setzero_ps(), min_acc[t] = 0.0f;
    for (int64_t b = 0; b < nb; ++b) {
        const Decoded dw = W::decode(w[b]);
        for (int t = 0; t < NT; ++t) {
            const auto& at = a[t][b];
            __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(at.qs));
            if constexpr (W::kSigned) q = _mm256_sign_epi8(q, dw.sign_source);
            const __m256i isum = _mm256_dpbusd_epi32(_mm256_setzero_si256(), dw.w, q);
            acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(dw.d * half(at.d)), acc[t]);
            if constexpr (W::kHasMin) min_acc[t] += dw.m * act_s(at);
        }
    }
    for (int t = 0; t < NT; ++t) {
        __m128 v = _mm_add_ps(_mm256_castps256_ps128(acc[t]), _mm256_extractf128_ps(acc[t], 1));
        v = _mm_add_ps(v, _mm_movehl_ps(v, v));
        v = _mm_add_ss(v, _mm_movehdup_ps(v));
        out[t] = _mm_cvtss_f32(v) + min_acc[t];
    }
}

template <typename W>
float legacy_dot(int64_t k, const void* w, const void* a) {
    const typename W::Act* act[1] = {static_cast<const typename W::Act*>(a)};
    float out[1];
    legacy_kernel<W, 1>(k / kQK, static_cast<const typename W::Block*>(w), act, out);
    return out[0];
}

template <typename W>
void legacy_tile(int64_t k, const std::byte* w, size_t w_row_bytes, int64_t nrows, const std::byte* act,
                 size_t act_row_bytes, int64_t ntok, float* y, int64_t y_stride) {
    const int64_t nb = k / kQK;
    for (int64_t r = 0; r < nrows; ++r) {
        const auto* wr = reinterpret_cast<const typename W::Block*>(w + r * w_row_bytes);
        int64_t t = 0;
        auto run = [&](auto nt_tag) {
            constexpr int NT = decltype(nt_tag)::value;
            const typename W::Act* a[NT];
            float out[NT];
            for (int i = 0; i < NT; ++i) a[i] = reinterpret_cast<const typename W::Act*>(act + (t + i) * act_row_bytes);
            legacy_kernel<W, NT>(nb, wr, a, out);
            for (int i = 0; i < NT; ++i) y[(t + i) * y_stride + r] = out[i];
            t += NT;
        };
        while (t + 4 <= ntok) run(std::integral_constant<int, 4>{});
        while (t < ntok) run(std::integral_constant<int, 1>{});
    }
}

// --- Float weights: 64 values per step in four accumulators. ---

inline __m512 load16(const float* p) { return _mm512_loadu_ps(p); }
inline __m512 load16(const uint16_t* p, bool bf16) {
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    return bf16 ? _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)) : _mm512_cvtph_ps(h);
}

template <typename T, bool BF16>
float float_dot(int64_t k, const void* wv, const void* av) {
    const auto* w = static_cast<const T*>(wv);
    const auto* a = static_cast<const float*>(av);
    auto load_w = [&](int64_t i) {
        if constexpr (sizeof(T) == 4) return load16(reinterpret_cast<const float*>(w) + i);
        else return load16(reinterpret_cast<const uint16_t*>(w) + i, BF16);
    };
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    int64_t i = 0;
    for (; i + 64 <= k; i += 64)
        for (int j = 0; j < 4; ++j) acc[j] = _mm512_fmadd_ps(load_w(i + 16 * j), _mm512_loadu_ps(a + i + 16 * j), acc[j]);
    for (; i + 16 <= k; i += 16) acc[0] = _mm512_fmadd_ps(load_w(i), _mm512_loadu_ps(a + i), acc[0]);
    float sum = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])));
    for (; i < k; ++i) {  // k not a multiple of 16 (any length is a whole number of float "blocks")
        float wf;
        if constexpr (sizeof(T) == 4) wf = reinterpret_cast<const float*>(w)[i];
        else if constexpr (BF16) wf = _mm_cvtss_f32(_mm_castsi128_ps(_mm_cvtsi32_si128(uint32_t{w[i]} << 16)));
        else wf = half(w[i]);
        sum += wf * a[i];
    }
    return sum;
}

}  // namespace

float dot_q8_0(int64_t k, const void* w, const void* a) { return legacy_dot<Q8_0W>(k, w, a); }
float dot_q4_0(int64_t k, const void* w, const void* a) { return legacy_dot<Q4_0W>(k, w, a); }
float dot_q5_0(int64_t k, const void* w, const void* a) { return legacy_dot<Q5_0W>(k, w, a); }
float dot_q4_1(int64_t k, const void* w, const void* a) { return legacy_dot<Q4_1W>(k, w, a); }
float dot_q5_1(int64_t k, const void* w, const void* a) { return legacy_dot<Q5_1W>(k, w, a); }
float dot_f32(int64_t k, const void* w, const void* a) { return float_dot<float, false>(k, w, a); }
float dot_f16(int64_t k, const void* w, const void* a) { return float_dot<uint16_t, false>(k, w, a); }
float dot_bf16(int64_t k, const void* w, const void* a) { return float_dot<uint16_t, true>(k, w, a); }

#define APR_CPU_LEGACY_TILE(name, W)                                                                           \
    void tile_##name(int64_t k, const std::byte* w, size_t wb, int64_t nrows, const std::byte* act, size_t ab, \
                     int64_t ntok, float* y, int64_t ys) {                                                     \
        legacy_tile<W>(k, w, wb, nrows, act, ab, ntok, y, ys);                                                 \
    }
APR_CPU_LEGACY_TILE(q8_0, Q8_0W)
APR_CPU_LEGACY_TILE(q4_0, Q4_0W)
APR_CPU_LEGACY_TILE(q5_0, Q5_0W)
APR_CPU_LEGACY_TILE(q4_1, Q4_1W)
APR_CPU_LEGACY_TILE(q5_1, Q5_1W)
#undef APR_CPU_LEGACY_TILE
void tile_f32(int64_t k, const std::byte* w, size_t wb, int64_t nrows, const std::byte* act, size_t ab, int64_t ntok,
              float* y, int64_t ys) {
    tile_by_vec_dot<&dot_f32>(k, w, wb, nrows, act, ab, ntok, y, ys);
}
void tile_f16(int64_t k, const std::byte* w, size_t wb, int64_t nrows, const std::byte* act, size_t ab, int64_t ntok,
              float* y, int64_t ys) {
    tile_by_vec_dot<&dot_f16>(k, w, wb, nrows, act, ab, ntok, y, ys);
}
void tile_bf16(int64_t k, const std::byte* w, size_t wb, int64_t nrows, const std::byte* act, size_t ab, int64_t ntok,
               float* y, int64_t ys) {
    tile_by_vec_dot<&dot_bf16>(k, w, wb, nrows, act, ab, ntok, y, ys);
}

}  // namespace apr::cpu::avx512
