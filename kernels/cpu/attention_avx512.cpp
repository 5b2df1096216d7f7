// AVX-512 versions of the f16 attention kernels (kernels/cpu/attention.hpp).
// Compiled into the AVX-512 kernel library; called only at that level.
//
// The numerics are the AVX2 kernels' but for the Q.K summation order: the
// query already rounded to f16, Q.K in f32 (two sixteen-lane sums over
// 32-value steps, then one horizontal sum), the scalar exp's values (computed
// sixteen at a time, exp_avx512.hpp), and the running
// P.V sum rounded to f16 after every position (the same multiply and fused
// multiply-add per value as AVX2, sixteen at a time). So at this level the
// single-head kernel and the group kernel give the same bits per head, as
// at the others.
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "cpu/attention.hpp"
#include "cpu/avx512/exp_avx512.hpp"

namespace apr::cpu::avx512 {
namespace {

inline __m512 load_f16(const uint16_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
inline void store_f16(uint16_t* p, __m512 x) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), _mm512_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT));
}

constexpr int64_t kChunk = 64;  // positions whose scores are computed before their softmax and P.V steps

// x rounded to f16 and back: what storing x as f16 and loading it gives.
inline __m512 round_f16(__m512 x) { return _mm512_cvtph_ps(_mm512_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT)); }

// The P.V steps of m positions for H heads: acc (H rows of d floats, each
// an f16 value held as f32) is, per position j, rescaled by ms[h][j] where
// some head's maximum grew at j (ms = 1 for the others: exact), then
// acc += w[h][j] * v_j and rounded to f16: per value the operations of
// storing the sum as f16 after every position, in the same order. All of
// acc stays in registers over the m positions (H * S <= 16 vectors of 16),
// so its H * S rounding chains run side by side.
template <int H, int S>
void pv_steps_in_registers(const uint16_t* v, int64_t stride, int64_t m, const float (*w)[kChunk],
                           const float (*ms)[kChunk], const bool* grows, float* acc) {
    constexpr int64_t d = 16 * S;
    __m512 a[H][S];
    for (int h = 0; h < H; ++h)
        for (int c = 0; c < S; ++c) a[h][c] = _mm512_loadu_ps(acc + h * d + 16 * c);
    for (int64_t j = 0; j < m; ++j) {
        if (grows[j])
            for (int h = 0; h < H; ++h) {
                const __m512 mv = _mm512_set1_ps(ms[h][j]);
                for (int c = 0; c < S; ++c) a[h][c] = round_f16(_mm512_mul_ps(a[h][c], mv));
            }
        const uint16_t* vr = v + j * stride;
        for (int c = 0; c < S; ++c) {
            const __m512 vv = load_f16(vr + 16 * c);
            for (int h = 0; h < H; ++h) a[h][c] = round_f16(_mm512_fmadd_ps(vv, _mm512_set1_ps(w[h][j]), a[h][c]));
        }
    }
    for (int h = 0; h < H; ++h)
        for (int c = 0; c < S; ++c) _mm512_storeu_ps(acc + h * d + 16 * c, a[h][c]);
}

// The same steps through memory, for any heads and d: per position, each
// head's rescale and then the update of every sixteen values.
void pv_steps_in_memory(int64_t heads, const uint16_t* v, int64_t stride, int64_t m, int64_t d, const float (*w)[kChunk],
                        const float (*ms)[kChunk], const bool* grows, float* acc) {
    for (int64_t j = 0; j < m; ++j) {
        if (grows[j])
            for (int64_t h = 0; h < heads; ++h) {
                const __m512 mv = _mm512_set1_ps(ms[h][j]);
                float* ah = acc + h * d;
                for (int64_t i = 0; i < d; i += 16) _mm512_storeu_ps(ah + i, round_f16(_mm512_mul_ps(_mm512_loadu_ps(ah + i), mv)));
            }
        const uint16_t* vr = v + j * stride;
        for (int64_t i = 0; i < d; i += 16) {
            const __m512 vv = load_f16(vr + i);
            for (int64_t h = 0; h < heads; ++h) {
                float* ah = acc + h * d + i;
                _mm512_storeu_ps(ah, round_f16(_mm512_fmadd_ps(vv, _mm512_set1_ps(w[h][j]), _mm512_loadu_ps(ah))));
            }
        }
    }
}

void pv_steps(int64_t heads, const uint16_t* v, int64_t stride, int64_t m, int64_t d, const float (*w)[kChunk],
              const float (*ms)[kChunk], const bool* grows, float* acc) {
    if (d == 128 && heads == 1) return pv_steps_in_registers<1, 8>(v, stride, m, w, ms, grows, acc);
    if (d == 128 && heads == 2) return pv_steps_in_registers<2, 8>(v, stride, m, w, ms, grows, acc);
    if (d == 64 && heads <= 2) {
        if (heads == 1) return pv_steps_in_registers<1, 4>(v, stride, m, w, ms, grows, acc);
        return pv_steps_in_registers<2, 4>(v, stride, m, w, ms, grows, acc);
    }
    if (d == 64 && heads <= 4) {
        if (heads == 3) return pv_steps_in_registers<3, 4>(v, stride, m, w, ms, grows, acc);
        return pv_steps_in_registers<4, 4>(v, stride, m, w, ms, grows, acc);
    }
    pv_steps_in_memory(heads, v, stride, m, d, w, ms, grows, acc);
}

}  // namespace

// Per chunk of positions: first every head's scores (each key row converted
// once for all heads), then the online-softmax steps in position order, then
// the P.V updates of every head (each value row converted once), sixteen
// values at a time held in registers over the chunk. Splitting them changes
// no value: a score depends only on the query and its key, and each value's
// operations keep their order.
// heads <= kMaxGroupHeads, d a multiple of 32.
void attend_block_f16_group(const uint16_t* q16, int64_t heads, const uint16_t* k, const uint16_t* v, int64_t stride,
                            int64_t n, int64_t d, float scale, float* qf, uint16_t* acc16, float* acc,
                            AttentionPartial* parts) {
    (void)acc16;  // the running P.V sums are held in acc as f32 values of f16 numbers
    for (int64_t i = 0; i < heads * d; i += 16) {
        _mm512_storeu_ps(acc + i, _mm512_setzero_ps());
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
        // The online softmax's steps in position order, as position by
        // position: where the maximum grows, the rescale exp(max - s) (the
        // position's weight 1), else the weight exp(s - max). The running
        // maximum is a scan; the exps of the chunk then go sixteen at a time
        // (exp_ps: std::exp's bits), and the sums in position order.
        float w[kMaxGroupHeads][kChunk], ms[kMaxGroupHeads][kChunk];
        alignas(64) float arg[kChunk];
        bool grows[kChunk], grew[kMaxGroupHeads][kChunk];
        const int64_t m16 = (m + 15) / 16 * 16;
        for (int64_t j = 0; j < m; ++j) grows[j] = false;
        for (int64_t h = 0; h < heads; ++h) {
            float mx = max[h];
            for (int64_t j = 0; j < m; ++j) {
                const float s = scores[h][j];
                grew[h][j] = s > mx;
                if (s > mx) {
                    arg[j] = mx - s;
                    mx = s;
                    grows[j] = true;
                } else {
                    arg[j] = s - mx;
                }
            }
            max[h] = mx;
            for (int64_t j = m; j < m16; ++j) arg[j] = 0.0f;
            for (int64_t j = 0; j < m16; j += 16) _mm512_store_ps(arg + j, exp_ps(_mm512_load_ps(arg + j)));
            for (int64_t j = 0; j < m; ++j) {
                const float e = arg[j];
                const float mscale = grew[h][j] ? e : 1.0f, vs = grew[h][j] ? 1.0f : e;
                w[h][j] = vs;
                ms[h][j] = mscale;
                sum[h] = sum[h] * mscale + vs;
            }
        }
        pv_steps(heads, v + j0 * stride, stride, m, d, w, ms, grows, acc);
    }
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
