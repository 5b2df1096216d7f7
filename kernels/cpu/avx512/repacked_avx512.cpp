// AVX-512 VNNI kernels for the 16-row repacked Q4_K / Q6_K layouts
// (kernels/cpu/repack.hpp, repack_layout.hpp).
//
// One 64-byte load holds 4 values of each of 16 rows. vpdpbusd with the
// matching 4 activation bytes of a token broadcast to every lane (an
// embedded {1to16} broadcast from the activation row) adds each row's 4
// products into its own int32 lane: one instruction per 64 multiply-adds and
// token, with no int16 step and no horizontal sum. Per sub-block the int32
// sums are multiplied by the rows' integer scales (vpmulld) and added; the
// Q4_K mins and Q6_K's -32 offset go through the activation's bsums
// (vpdpwssd). At the end of a super-block d_w * d_a is applied to the 16
// rows with the scalar reference's float operations in its order (multiply,
// multiply, add, then the mins subtracted; no FMA), so every output equals
// the scalar level's vec_dot bit for bit, whatever the number of tokens per
// pass or threads.
//
// Up to 12 tokens share each unpacked weight register (prompt processing and
// batched decode); a group's weights (16 rows x cols) stay in L1/L2 while
// all token passes go over them.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "cpu/repack_layout.hpp"
#include "quant/blocks.hpp"

namespace apr::cpu::avx512 {

using quant::BlockQ8_K;
using quant::kQKK;

namespace {

inline __m512i load512(const void* p) { return _mm512_loadu_si512(p); }
inline __m128i load128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }
inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
// 4 bytes broadcast to every lane; written as a plain (may_alias) load so
// that GCC folds it into vpdpbusd's embedded {1to16} memory operand.
using alias_int = int __attribute__((may_alias, aligned(1)));
inline __m512i bcast4(const void* p) { return _mm512_set1_epi32(*static_cast<const alias_int*>(p)); }

// 12 rather than 8: 6-7% faster at 128 tokens (bench_kernels, one thread,
// 3 alternating runs); the 12 float accumulators then live partly on the stack.
constexpr int kMaxTok = 12;

// The block `ahead` blocks after p (the next group's near the end of a group,
// past the matrix for the last group: harmless, a prefetch never faults; the
// address is formed as an integer for that reason). Asked for in the first
// token pass only: later passes find the group in cache.
constexpr int64_t kPrefetchBlocks = 2;
template <typename Block>
inline void prefetch_ahead(const Block* p, int64_t ahead) {
    const uintptr_t base = reinterpret_cast<uintptr_t>(p) + static_cast<uintptr_t>(ahead) * sizeof(Block);
    for (size_t line = 0; line < sizeof(Block); line += 64)
        _mm_prefetch(reinterpret_cast<const char*>(base + line), _MM_HINT_T0);
}

template <int NT, bool Prefetch>
void q4_K_group(const BlockQ4_Kx16* w, int64_t blocks, const std::byte* act, size_t act_row_bytes, float* y,
                int64_t y_stride) {
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    __m512 accf[NT];
    for (int t = 0; t < NT; ++t) accf[t] = _mm512_setzero_ps();
    for (int64_t b = 0; b < blocks; ++b) {
        const BlockQ4_Kx16& g = w[b];
        if constexpr (Prefetch) prefetch_ahead(w + b, kPrefetchBlocks);
        const BlockQ8_K* a[NT];
        for (int t = 0; t < NT; ++t) a[t] = reinterpret_cast<const BlockQ8_K*>(act + t * act_row_bytes) + b;
        __m512i isum[NT];
        for (int t = 0; t < NT; ++t) isum[t] = _mm512_setzero_si512();
        // Per half set (16 values, 4 chunks) a row's sum is at most
        // 16 * 15 * 127 = 30480 in magnitude, so its int32 lane is also a
        // valid int16 in the low half (the high half is its sign): vpdpwssd
        // with the scale in the low int16 and 0 in the high one multiplies
        // and accumulates it exactly (one uop, instead of vpmulld + add).
#pragma GCC unroll 8
        for (int s = 0; s < 8; ++s) {
            const __m512i sc = _mm512_cvtepu8_epi32(load128(g.scales[s]));
#pragma GCC unroll 2
            for (int half = 0; half < 2; ++half) {
                __m512i acc[NT];
                for (int t = 0; t < NT; ++t) acc[t] = _mm512_setzero_si512();
#pragma GCC unroll 4
                for (int c = 4 * half; c < 4 * half + 4; ++c) {
                    const __m512i raw = load512(g.qs[s / 2][c]);
                    const __m512i v =
                        (s % 2) ? _mm512_and_si512(_mm512_srli_epi16(raw, 4), m4) : _mm512_and_si512(raw, m4);
                    for (int t = 0; t < NT; ++t)
                        acc[t] = _mm512_dpbusd_epi32(acc[t], v, bcast4(a[t]->qs + 32 * s + 4 * c));
                }
                for (int t = 0; t < NT; ++t) isum[t] = _mm512_dpwssd_epi32(isum[t], acc[t], sc);
            }
        }
        // mins: sum over sets of min * (sum of the set's 32 activations), the
        // set's two 16-value bsums against the min in both int16 halves.
        __m512i msum[NT];
        for (int t = 0; t < NT; ++t) msum[t] = _mm512_setzero_si512();
#pragma GCC unroll 8
        for (int s = 0; s < 8; ++s) {
            const __m512i m = _mm512_cvtepu8_epi32(load128(g.mins[s]));
            const __m512i mn = _mm512_or_si512(m, _mm512_slli_epi32(m, 16));
            for (int t = 0; t < NT; ++t) msum[t] = _mm512_dpwssd_epi32(msum[t], mn, bcast4(a[t]->bsums + 2 * s));
        }
        const __m512 dw = _mm512_cvtph_ps(load256(g.d));
        const __m512 dm = _mm512_cvtph_ps(load256(g.dmin));
        for (int t = 0; t < NT; ++t) {
            const __m512 da = _mm512_set1_ps(a[t]->d);
            accf[t] = _mm512_add_ps(accf[t], _mm512_mul_ps(_mm512_mul_ps(dw, da), _mm512_cvtepi32_ps(isum[t])));
            accf[t] = _mm512_sub_ps(accf[t], _mm512_mul_ps(_mm512_mul_ps(dm, da), _mm512_cvtepi32_ps(msum[t])));
        }
    }
    for (int t = 0; t < NT; ++t) _mm512_storeu_ps(y + t * y_stride, accf[t]);
}

// Q6_K: the 6-bit values stored + 32 (unsigned, as vpdpbusd wants); the +32
// is taken out at the end through the bsums. Two 16-value scales per set.
template <int NT, bool Prefetch>
void q6_K_group(const BlockQ6_Kx16* w, int64_t blocks, const std::byte* act, size_t act_row_bytes, float* y,
                int64_t y_stride) {
    const __m512i m4 = _mm512_set1_epi8(0x0f), m30 = _mm512_set1_epi8(0x30);
    __m512 accf[NT];
    for (int t = 0; t < NT; ++t) accf[t] = _mm512_setzero_ps();
    for (int64_t b = 0; b < blocks; ++b) {
        const BlockQ6_Kx16& g = w[b];
        if constexpr (Prefetch) prefetch_ahead(w + b, kPrefetchBlocks);
        const BlockQ8_K* a[NT];
        for (int t = 0; t < NT; ++t) a[t] = reinterpret_cast<const BlockQ8_K*>(act + t * act_row_bytes) + b;
        __m512i isum[NT];
        for (int t = 0; t < NT; ++t) isum[t] = _mm512_setzero_si512();
#pragma GCC unroll 8
        for (int s = 0; s < 8; ++s) {
            const BlockQ6_Kx16::Quad& quad = g.quad[s / 4];
#pragma GCC unroll 2
            for (int half = 0; half < 2; ++half) {
                __m512i acc[NT];
                for (int t = 0; t < NT; ++t) acc[t] = _mm512_setzero_si512();
#pragma GCC unroll 4
                for (int c = 4 * half; c < 4 * half + 4; ++c) {
                    const __m512i ql = load512(quad.ql[(s / 2) % 2][c]);
                    const __m512i qh = load512(quad.qh[c]);
                    const __m512i lo = (s % 2) ? _mm512_and_si512(_mm512_srli_epi16(ql, 4), m4) : _mm512_and_si512(ql, m4);
                    __m512i hi;
                    switch (s % 4) {
                        case 0: hi = _mm512_slli_epi16(qh, 4); break;
                        case 1: hi = _mm512_slli_epi16(qh, 2); break;
                        case 2: hi = qh; break;
                        default: hi = _mm512_srli_epi16(qh, 2); break;
                    }
                    const __m512i v = _mm512_or_si512(lo, _mm512_and_si512(hi, m30));
                    for (int t = 0; t < NT; ++t)
                        acc[t] = _mm512_dpbusd_epi32(acc[t], v, bcast4(a[t]->qs + 32 * s + 4 * c));
                }
                // the row's scale of this 16-value half: int8 at byte 2r + half
                const __m512i pair = _mm512_cvtepi8_epi16(load256(g.scales[s]));
                const __m512i sc = half ? _mm512_srai_epi32(pair, 16) : _mm512_srai_epi32(_mm512_slli_epi32(pair, 16), 16);
                for (int t = 0; t < NT; ++t) isum[t] = _mm512_add_epi32(isum[t], _mm512_mullo_epi32(acc[t], sc));
            }
        }
        // sum over the 16-value groups of scale * bsum (times 32 below).
        __m512i corr[NT];
        for (int t = 0; t < NT; ++t) corr[t] = _mm512_setzero_si512();
#pragma GCC unroll 8
        for (int s = 0; s < 8; ++s) {
            const __m512i pair = _mm512_cvtepi8_epi16(load256(g.scales[s]));
            for (int t = 0; t < NT; ++t) corr[t] = _mm512_dpwssd_epi32(corr[t], pair, bcast4(a[t]->bsums + 2 * s));
        }
        const __m512 dw = _mm512_cvtph_ps(load256(g.d));
        for (int t = 0; t < NT; ++t) {
            const __m512i total = _mm512_sub_epi32(isum[t], _mm512_slli_epi32(corr[t], 5));
            accf[t] = _mm512_add_ps(accf[t], _mm512_mul_ps(_mm512_mul_ps(dw, _mm512_set1_ps(a[t]->d)),
                                                           _mm512_cvtepi32_ps(total)));
        }
    }
    for (int t = 0; t < NT; ++t) _mm512_storeu_ps(y + t * y_stride, accf[t]);
}

template <typename Group>
using GroupFn = void (*)(const Group*, int64_t, const std::byte*, size_t, float*, int64_t);

template <int NT, bool P>
struct Q4 {
    static constexpr GroupFn<BlockQ4_Kx16> fn = &q4_K_group<NT, P>;
};
template <int NT, bool P>
struct Q6 {
    static constexpr GroupFn<BlockQ6_Kx16> fn = &q6_K_group<NT, P>;
};

// Groups outer (a group's weights stay in cache while all tokens pass over
// them), tokens in passes of up to kMaxTok.
template <typename Group, template <int, bool> class K>
void run_groups(int64_t cols, const std::byte* w, int64_t ngroups, const std::byte* act, size_t act_row_bytes,
                int64_t ntok, float* y, int64_t y_stride) {
    static constexpr GroupFn<Group> first[kMaxTok] = {
        K<1, true>::fn, K<2, true>::fn, K<3, true>::fn, K<4, true>::fn,  K<5, true>::fn,  K<6, true>::fn,
        K<7, true>::fn, K<8, true>::fn, K<9, true>::fn, K<10, true>::fn, K<11, true>::fn, K<12, true>::fn};
    static constexpr GroupFn<Group> later[kMaxTok] = {
        K<1, false>::fn, K<2, false>::fn, K<3, false>::fn,  K<4, false>::fn,  K<5, false>::fn,  K<6, false>::fn,
        K<7, false>::fn, K<8, false>::fn, K<9, false>::fn, K<10, false>::fn, K<11, false>::fn, K<12, false>::fn};
    const int64_t blocks = cols / kQKK;
    const auto* groups = reinterpret_cast<const Group*>(w);
    for (int64_t gi = 0; gi < ngroups; ++gi) {
        const Group* g = groups + gi * blocks;
        for (int64_t t0 = 0; t0 < ntok; t0 += kMaxTok) {
            const int64_t n = std::min<int64_t>(kMaxTok, ntok - t0);
            const GroupFn<Group> fn = (t0 == 0 ? first : later)[n - 1];
            fn(g, blocks, act + t0 * act_row_bytes, act_row_bytes, y + t0 * y_stride + 16 * gi, y_stride);
        }
    }
}

}  // namespace

void repacked_tile_q4_K(int64_t cols, const std::byte* w, int64_t ngroups, const std::byte* act,
                        size_t act_row_bytes, int64_t ntok, float* y, int64_t y_stride) {
    run_groups<BlockQ4_Kx16, Q4>(cols, w, ngroups, act, act_row_bytes, ntok, y, y_stride);
}

void repacked_tile_q6_K(int64_t cols, const std::byte* w, int64_t ngroups, const std::byte* act,
                        size_t act_row_bytes, int64_t ntok, float* y, int64_t y_stride) {
    run_groups<BlockQ6_Kx16, Q6>(cols, w, ngroups, act, act_row_bytes, ntok, y, y_stride);
}

}  // namespace apr::cpu::avx512
