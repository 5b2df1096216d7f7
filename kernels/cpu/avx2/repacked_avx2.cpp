// AVX2 kernels for the repacked Q4_K / Q6_K layouts (kernels/cpu/repack.hpp).
//
// One 32-byte load holds 4 values of each of 8 rows. vpmaddubsw with the
// matching 4 activation bytes broadcast to every 32-bit lane gives each row's
// two int16 partial sums in its own lane; those are added in int16 over the
// chunks of a set while no overflow is possible, then vpmaddwd with the set's
// scale (the same int16 scale in both halves of a row's lane) sums them into
// int32 per row. At the end of a super-block d_w * d_a is applied to all 8
// rows with the scalar reference's float operations in its order (multiply,
// multiply, add; no FMA), so every output equals the scalar vec_dot of that
// row bit for bit. Tokens are processed up to 4 per pass over the weights (prompt
// processing reuses each unpacked weight register 4 times); the per-token
// arithmetic is the same for every pass width, so results are bit-identical
// for any number of tokens.
#include <immintrin.h>

#include <algorithm>

#include "cpu/repack_layout.hpp"
#include "quant/blocks.hpp"

namespace apr::cpu::avx2 {

using quant::BlockQ8_K;
using quant::kQKK;

namespace {

inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline __m128i load128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }
inline __m256i bcast4(const int8_t* p) {
    int v;
    __builtin_memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

// 8 unsigned bytes (one per row) -> int16 lanes (b_r, b_r) for r = 0..7.
inline __m256i spread_u8(const uint8_t* p) {
    const __m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
    return _mm256_or_si256(v, _mm256_slli_epi32(v, 16));
}

constexpr int kMaxTok = 4;

// A group block spans 19 (Q4_K) or 27 (Q6_K) cache lines, and the kernels
// read each in two or three interleaved streams (scales, low bits, high
// bits) jumping back and forth inside it. The hardware prefetcher does not
// follow that from DRAM: a one-token Q6_K product streamed 4.9 GB/s on one
// core against 16 GB/s from cache. Asking for the lines of the block two
// ahead brings it to 9.4 GB/s (Q4_K: 8.9 -> ~10.5), as fast as or faster
// than the file layout's kernels; a block is 1-2 us of work on one core, so
// two blocks ahead covers the DRAM latency without evicting the current one.
constexpr int64_t kPrefetchBlocks = 2;
// The block `ahead` blocks after p: in a matrix that is the next group's
// when p is near the end of its group (groups are contiguous), and past the
// matrix for the last group, which is harmless since a prefetch is a hint
// that never faults (the address is formed as an integer for that reason).
template <typename Block>
inline void prefetch_ahead(const Block* p, int64_t ahead) {
    const uintptr_t base = reinterpret_cast<uintptr_t>(p) + static_cast<uintptr_t>(ahead) * sizeof(Block);
    for (size_t line = 0; line < sizeof(Block); line += 64) _mm_prefetch(reinterpret_cast<const char*>(base + line), _MM_HINT_T0);
}

// Q4_K: per set, 8 chunks of int16 sums: each lane <= 2 * 15 * 128, so 8 of
// them stay below 32768.
template <int NT>
void q4_K_group(const BlockQ4_Kx8* w, int64_t blocks, const std::byte* act, size_t act_row_bytes, float* y,
                int64_t y_stride) {
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    __m256 accf[NT];
    for (int t = 0; t < NT; ++t) accf[t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < blocks; ++b) {
        const BlockQ4_Kx8& g = w[b];
        prefetch_ahead(w + b, kPrefetchBlocks);
        const BlockQ8_K* a[NT];
        for (int t = 0; t < NT; ++t) a[t] = reinterpret_cast<const BlockQ8_K*>(act + t * act_row_bytes) + b;
        __m256i isum[NT];
        for (int t = 0; t < NT; ++t) isum[t] = _mm256_setzero_si256();
#pragma GCC unroll 8
        for (int s = 0; s < 8; ++s) {
            __m256i acc[NT];
            for (int t = 0; t < NT; ++t) acc[t] = _mm256_setzero_si256();
#pragma GCC unroll 8
            for (int c = 0; c < 8; ++c) {
                const __m256i raw = load256(g.qs[s / 2][c]);
                const __m256i v = (s % 2) ? _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4) : _mm256_and_si256(raw, m4);
                for (int t = 0; t < NT; ++t)
                    acc[t] = _mm256_add_epi16(acc[t], _mm256_maddubs_epi16(v, bcast4(a[t]->qs + 32 * s + 4 * c)));
            }
            const __m256i sc = spread_u8(g.scales[s]);
            for (int t = 0; t < NT; ++t) isum[t] = _mm256_add_epi32(isum[t], _mm256_madd_epi16(acc[t], sc));
        }
        // mins: sum over sets of min * (sum of the set's 32 activations),
        // the two 16-value bsums of a set in the two halves of each lane.
        __m256i msum[NT];
        for (int t = 0; t < NT; ++t) msum[t] = _mm256_setzero_si256();
#pragma GCC unroll 8
        for (int s = 0; s < 8; ++s) {
            const __m256i mn = spread_u8(g.mins[s]);
            for (int t = 0; t < NT; ++t)
                msum[t] = _mm256_add_epi32(
                    msum[t], _mm256_madd_epi16(mn, _mm256_set1_epi32(*reinterpret_cast<const int*>(a[t]->bsums + 2 * s))));
        }
        const __m256 dw = _mm256_cvtph_ps(load128(g.d));
        const __m256 dm = _mm256_cvtph_ps(load128(g.dmin));
        for (int t = 0; t < NT; ++t) {
            const __m256 da = _mm256_set1_ps(a[t]->d);
            accf[t] = _mm256_add_ps(accf[t], _mm256_mul_ps(_mm256_mul_ps(dw, da), _mm256_cvtepi32_ps(isum[t])));
            accf[t] = _mm256_sub_ps(accf[t], _mm256_mul_ps(_mm256_mul_ps(dm, da), _mm256_cvtepi32_ps(msum[t])));
        }
    }
    for (int t = 0; t < NT; ++t) _mm256_storeu_ps(y + t * y_stride, accf[t]);
}

// Q6_K: 6-bit unsigned values (stored + 32): each int16 lane <= 2 * 63 * 128,
// so two chunks are summed before each vpmaddwd. The +32 is taken out at the
// end through the activation's bsums.
template <int NT>
void q6_K_group(const BlockQ6_Kx8* w, int64_t blocks, const std::byte* act, size_t act_row_bytes, float* y,
                int64_t y_stride) {
    const __m256i m4 = _mm256_set1_epi8(0x0f), m30 = _mm256_set1_epi8(0x30);
    const __m128i dup_first = _mm_setr_epi8(0, 0, 2, 2, 4, 4, 6, 6, 8, 8, 10, 10, 12, 12, 14, 14);
    const __m128i dup_second = _mm_setr_epi8(1, 1, 3, 3, 5, 5, 7, 7, 9, 9, 11, 11, 13, 13, 15, 15);
    __m256 accf[NT];
    for (int t = 0; t < NT; ++t) accf[t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < blocks; ++b) {
        const BlockQ6_Kx8& g = w[b];
        prefetch_ahead(w + b, kPrefetchBlocks);
        const BlockQ8_K* a[NT];
        for (int t = 0; t < NT; ++t) a[t] = reinterpret_cast<const BlockQ8_K*>(act + t * act_row_bytes) + b;
        __m256i isum[NT];
        for (int t = 0; t < NT; ++t) isum[t] = _mm256_setzero_si256();
#pragma GCC unroll 8
        for (int s = 0; s < 8; ++s) {
            const __m128i raw_sc = load128(g.scales[s]);
            const __m256i sc[2] = {_mm256_cvtepi8_epi16(_mm_shuffle_epi8(raw_sc, dup_first)),
                                   _mm256_cvtepi8_epi16(_mm_shuffle_epi8(raw_sc, dup_second))};
#pragma GCC unroll 4
            for (int cp = 0; cp < 4; ++cp) {
                __m256i acc[NT];
                for (int t = 0; t < NT; ++t) acc[t] = _mm256_setzero_si256();
#pragma GCC unroll 2
                for (int c = 2 * cp; c < 2 * cp + 2; ++c) {
                    const __m256i ql = load256(g.ql[s / 2][c]);
                    const __m256i qh = load256(g.qh[s / 4][c]);
                    const __m256i lo = (s % 2) ? _mm256_and_si256(_mm256_srli_epi16(ql, 4), m4) : _mm256_and_si256(ql, m4);
                    __m256i hi;
                    switch (s % 4) {
                        case 0: hi = _mm256_slli_epi16(qh, 4); break;
                        case 1: hi = _mm256_slli_epi16(qh, 2); break;
                        case 2: hi = qh; break;
                        default: hi = _mm256_srli_epi16(qh, 2); break;
                    }
                    const __m256i v = _mm256_or_si256(lo, _mm256_and_si256(hi, m30));
                    for (int t = 0; t < NT; ++t)
                        acc[t] = _mm256_add_epi16(acc[t], _mm256_maddubs_epi16(v, bcast4(a[t]->qs + 32 * s + 4 * c)));
                }
                for (int t = 0; t < NT; ++t) isum[t] = _mm256_add_epi32(isum[t], _mm256_madd_epi16(acc[t], sc[cp / 2]));
            }
        }
        // sum over the 16-value groups of scale * 32 * bsum.
        __m256i corr[NT];
        for (int t = 0; t < NT; ++t) corr[t] = _mm256_setzero_si256();
#pragma GCC unroll 8
        for (int s = 0; s < 8; ++s) {
            const __m256i pair = _mm256_cvtepi8_epi16(load128(g.scales[s]));
            for (int t = 0; t < NT; ++t)
                corr[t] = _mm256_add_epi32(
                    corr[t], _mm256_madd_epi16(pair, _mm256_set1_epi32(*reinterpret_cast<const int*>(a[t]->bsums + 2 * s))));
        }
        const __m256 dw = _mm256_cvtph_ps(load128(g.d));
        for (int t = 0; t < NT; ++t) {
            const __m256i total = _mm256_sub_epi32(isum[t], _mm256_slli_epi32(corr[t], 5));
            accf[t] = _mm256_add_ps(accf[t], _mm256_mul_ps(_mm256_mul_ps(dw, _mm256_set1_ps(a[t]->d)),
                                                           _mm256_cvtepi32_ps(total)));
        }
    }
    for (int t = 0; t < NT; ++t) _mm256_storeu_ps(y + t * y_stride, accf[t]);
}

// Groups outer (a group's weights stay in L1/L2 while all tokens pass over
// them), tokens in passes of up to kMaxTok.
template <typename Group, void (*K1)(const Group*, int64_t, const std::byte*, size_t, float*, int64_t),
          void (*K2)(const Group*, int64_t, const std::byte*, size_t, float*, int64_t),
          void (*K3)(const Group*, int64_t, const std::byte*, size_t, float*, int64_t),
          void (*K4)(const Group*, int64_t, const std::byte*, size_t, float*, int64_t)>
void run_groups(int64_t cols, const std::byte* w, int64_t ngroups, const std::byte* act, size_t act_row_bytes,
                int64_t ntok, float* y, int64_t y_stride) {
    const int64_t blocks = cols / kQKK;
    const auto* groups = reinterpret_cast<const Group*>(w);
    for (int64_t gi = 0; gi < ngroups; ++gi) {
        const Group* g = groups + gi * blocks;
        for (int64_t t0 = 0; t0 < ntok; t0 += kMaxTok) {
            const std::byte* a = act + t0 * act_row_bytes;
            float* out = y + t0 * y_stride + 8 * gi;
            switch (std::min<int64_t>(kMaxTok, ntok - t0)) {
                case 1: K1(g, blocks, a, act_row_bytes, out, y_stride); break;
                case 2: K2(g, blocks, a, act_row_bytes, out, y_stride); break;
                case 3: K3(g, blocks, a, act_row_bytes, out, y_stride); break;
                default: K4(g, blocks, a, act_row_bytes, out, y_stride); break;
            }
        }
    }
}

}  // namespace

void repacked_tile_q4_K(int64_t cols, const std::byte* w, int64_t ngroups, const std::byte* act,
                        size_t act_row_bytes, int64_t ntok, float* y, int64_t y_stride) {
    run_groups<BlockQ4_Kx8, q4_K_group<1>, q4_K_group<2>, q4_K_group<3>, q4_K_group<4>>(
        cols, w, ngroups, act, act_row_bytes, ntok, y, y_stride);
}

void repacked_tile_q6_K(int64_t cols, const std::byte* w, int64_t ngroups, const std::byte* act,
                        size_t act_row_bytes, int64_t ntok, float* y, int64_t y_stride) {
    run_groups<BlockQ6_Kx8, q6_K_group<1>, q6_K_group<2>, q6_K_group<3>, q6_K_group<4>>(
        cols, w, ngroups, act, act_row_bytes, ntok, y, y_stride);
}

}  // namespace apr::cpu::avx2
