// Decode attention: RoPE of the new query and key, the new key and value
// into the cache, and attention over the cache split into chunks, their
// partial softmaxes merged. Two forms: grouped (one block per KV head and
// chunk, for all the query heads sharing it; head sizes 32 to 128, up to 8
// query heads per KV head: Qwen2.5's shapes), its chunks merged by a second,
// wide kernel (attention_decode_merge_kernel); and per query head (any head
// size up to 256) in one launch, merged by the last block of each (row,
// head).
#include <cuda_runtime.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <stdexcept>

#include "cuda/blocks.cuh"
#include "cuda/kernels.hpp"
#include "cuda/kv_access.cuh"
#include "cuda/pdl.cuh"
#include "cuda/rope.cuh"

namespace apr::cuda {
namespace {

// ---- per query head ----
//
// One block per (query head, batch row, chunk of `chunk` positions). Every
// block ropes its query head and its KV head's new key itself (the same
// arithmetic as rope_qk_kernel, so the same bits), takes the new key and
// value for the row's own position from registers, and reads the cache only
// below it; the first block of each KV head writes the new key and value into
// the cache (nothing in this launch reads that slot). Each row is its own
// sequence (one position per sequence), which is what makes that safe.
// A block computes its chunk's scores into shared memory, their max and
// exp-sum, and P.V with one thread per head value; with one chunk it writes
// the output, otherwise its partial (max, sum, P.V) goes to scratch and the
// last block of the (row, head) merges them and resets the counter.
constexpr int kDecodeThreads = 128;

__device__ __forceinline__ float block_max(float v, float* red) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    __syncthreads();
    if (lane == 0) red[warp] = v;
    __syncthreads();
    v = -INFINITY;
    for (int w = 0; w < static_cast<int>(blockDim.x / 32); ++w) v = fmaxf(v, red[w]);
    return v;
}

__device__ __forceinline__ float block_add(float v, float* red) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    __syncthreads();
    if (lane == 0) red[warp] = v;
    __syncthreads();
    v = 0.0f;
    for (int w = 0; w < static_cast<int>(blockDim.x / 32); ++w) v += red[w];
    return v;
}

template <bool F16, int L>
__global__ void __launch_bounds__(kDecodeThreads)
    attention_decode_kernel(KVRows kv, int layer, const float* __restrict__ q, const float* __restrict__ k,
                            const float* __restrict__ v, const int32_t* __restrict__ positions, int heads, int kv_heads,
                            int hd, float scale, const float* __restrict__ inv_freq, bool neox, int chunk,
                            int max_splits, int* __restrict__ counters, float* __restrict__ partial,
                            float* __restrict__ out) {
    pdl_wait();
    pdl_release();
    const int h = blockIdx.x, r = blockIdx.y, split = blockIdx.z;
    const int pos = positions[r];
    const int n = pos + 1;
    const int nsplit = (n + chunk - 1) / chunk;
    if (split >= nsplit) return;
    const int group = heads / kv_heads, kvh = h / group;
    const int kv_dim = kv_heads * hd;
    const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
    constexpr int kWarps = kDecodeThreads / 32;
    extern __shared__ float smem[];
    float* qs = smem;       // hd: the roped query, in the cache's precision
    float* kc = qs + hd;    // hd: this position's key
    float* vc = kc + hd;    // hd: this position's value
    float* sc = vc + hd;    // chunk: scores, then probabilities
    __shared__ float red[kWarps];
    __shared__ int last;

    const float* qh = q + (static_cast<size_t>(r) * heads + h) * hd;
    const float* kh = k + (static_cast<size_t>(r) * kv_heads + kvh) * hd;
    const float* vh = v + (static_cast<size_t>(r) * kv_heads + kvh) * hd;
    const int half = hd / 2;
    if (inv_freq != nullptr) {
        const float fpos = static_cast<float>(pos);
        for (int i = tid; i < half; i += kDecodeThreads) {
            float sn, cs;
            rope_angle(fpos, inv_freq[i], sn, cs);
            rope_pair(qh, qs, i, half, neox, sn, cs);
            rope_pair(kh, kc, i, half, neox, sn, cs);
        }
        for (int i = 2 * half + tid; i < hd; i += kDecodeThreads) {
            qs[i] = qh[i];
            kc[i] = kh[i];
        }
    } else {
        for (int i = tid; i < hd; i += kDecodeThreads) {
            qs[i] = qh[i];
            kc[i] = kh[i];
        }
    }
    __syncthreads();
    const size_t cap = static_cast<size_t>(kv.capacity[r]);
    const size_t base = static_cast<size_t>(layer) * cap * kv_dim + static_cast<size_t>(kvh) * hd;
    const bool writer = h % group == 0 && split == 0;
    const size_t at = base + static_cast<size_t>(pos) * kv_dim;
    for (int i = tid; i < hd; i += kDecodeThreads) {
        const float kv_k = kc[i], kv_v = vh[i];
        if (writer) store_kv<F16>(kv, r, at + i, kv_k, kv_v);
        kc[i] = to_cache_precision<F16>(kv_k);
        vc[i] = to_cache_precision<F16>(kv_v);
        qs[i] = to_cache_precision<F16>(qs[i]);  // the CPU rounds q to f16 for an f16 cache too
    }
    __syncthreads();

    const void* kb = kv.k_base[r];
    const void* vb = kv.v_base[r];
    const int j0 = split * chunk, j1 = min(n, j0 + chunk);
    float qv[L];
#pragma unroll
    for (int i = 0; i < L; ++i) {
        const int d = lane + 32 * i;
        qv[i] = d < hd ? qs[d] : 0.0f;
    }
    // Scores: each warp takes positions j0 + warp, + kWarps, ...; kAhead at a
    // time, their loads in flight together.
    constexpr int kAhead = 8;
    for (int jj = j0 + warp; jj < j1; jj += kAhead * kWarps) {
        float s[kAhead];
#pragma unroll
        for (int u = 0; u < kAhead; ++u) {
            const int j = jj + u * kWarps;
            float a = 0.0f;
            if (j < j1) {
                const size_t row = base + static_cast<size_t>(j) * kv_dim;
#pragma unroll
                for (int i = 0; i < L; ++i) {
                    const int d = lane + 32 * i;
                    if (d < hd) a += qv[i] * (j == pos ? kc[d] : load_kv<F16>(kb, row + d));
                }
            }
            s[u] = a;
        }
#pragma unroll
        for (int u = 0; u < kAhead; ++u)
            for (int o = 16; o > 0; o >>= 1) s[u] += __shfl_xor_sync(0xffffffffu, s[u], o);
        if (lane == 0)
#pragma unroll
            for (int u = 0; u < kAhead; ++u) {
                const int j = jj + u * kWarps;
                if (j < j1) sc[j - j0] = s[u] * scale;
            }
    }
    __syncthreads();
    const int count = j1 - j0;
    float m = -INFINITY;
    for (int j = tid; j < count; j += kDecodeThreads) m = fmaxf(m, sc[j]);
    m = block_max(m, red);
    float l = 0.0f;
    for (int j = tid; j < count; j += kDecodeThreads) {
        const float p = expf(sc[j] - m);
        sc[j] = p;
        l += p;
    }
    l = block_add(l, red);  // its barriers also publish sc
    float* po = nullptr;
    if (nsplit > 1) {
        po = partial + ((static_cast<size_t>(r) * heads + h) * max_splits + split) * (hd + 2);
        if (tid == 0) {
            po[0] = m;
            po[1] = l;
        }
    }
    float* o = out + (static_cast<size_t>(r) * heads + h) * hd;
    for (int d = tid; d < hd; d += kDecodeThreads) {
        float acc = 0.0f;
        constexpr int kVAhead = 16;
        for (int jb = j0; jb < j1; jb += kVAhead) {
            float vv[kVAhead];
#pragma unroll
            for (int u = 0; u < kVAhead; ++u) {
                const int j = jb + u;
                vv[u] = j < j1 ? (j == pos ? vc[d] : load_kv<F16>(vb, base + static_cast<size_t>(j) * kv_dim + d)) : 0.0f;
            }
#pragma unroll
            for (int u = 0; u < kVAhead; ++u)
                if (jb + u < j1) acc += sc[jb + u - j0] * vv[u];
        }
        if (nsplit == 1) o[d] = acc / l;
        else po[2 + d] = acc;
    }
    if (nsplit == 1) return;
    // The last block of this (row, head) merges the chunks.
    __threadfence();
    __syncthreads();
    int* counter = counters + static_cast<size_t>(r) * heads + h;
    if (tid == 0) last = atomicAdd(counter, 1) == nsplit - 1;
    __syncthreads();
    if (!last) return;
    __threadfence();
    // The chunks' weights e^(m_s - M) once, in shared memory (sc is free
    // again: nsplit <= max_splits fits, see launch_decode), then each head
    // value sums its chunks with their loads in flight together.
    const float* pr = partial + (static_cast<size_t>(r) * heads + h) * max_splits * (hd + 2);
    float big = -INFINITY;
    for (int sp = tid; sp < nsplit; sp += kDecodeThreads) big = fmaxf(big, __ldcg(pr + static_cast<size_t>(sp) * (hd + 2)));
    big = block_max(big, red);
    float total = 0.0f;
    for (int sp = tid; sp < nsplit; sp += kDecodeThreads) {
        const float* ps = pr + static_cast<size_t>(sp) * (hd + 2);
        const float wgt = expf(__ldcg(ps) - big);
        sc[sp] = wgt;
        total += __ldcg(ps + 1) * wgt;
    }
    total = block_add(total, red);  // its barriers also publish sc
    for (int d = tid; d < hd; d += kDecodeThreads) {
        float acc = 0.0f;
        constexpr int kMAhead = 8;
        for (int sb = 0; sb < nsplit; sb += kMAhead) {
            float pv[kMAhead];
#pragma unroll
            for (int u = 0; u < kMAhead; ++u)
                pv[u] = sb + u < nsplit ? __ldcg(pr + static_cast<size_t>(sb + u) * (hd + 2) + 2 + d) : 0.0f;
#pragma unroll
            for (int u = 0; u < kMAhead; ++u)
                if (sb + u < nsplit) acc += pv[u] * sc[sb + u];
        }
        o[d] = acc / total;
    }
    if (tid == 0) *counter = 0;  // ready for the next launch
}

// Positions per block: 32 for short caches, more as they grow, so that a
// row's chunks stay about 256 or fewer up to 8,192 held positions and about
// 64 beyond (at most 256 positions per chunk). Measured on the H200
// (1.5B-shaped Q4_K_M, tg64): at depth 4,096 (8,192 held) 256 chunks of 32
// gave 252.7 tok/s against 207.1 for 64 of 128; at 16,384 (32,768 held)
// 128 chunks of 256 gave 126.6 against 121.4 for 256 of 128.
// APR_CUDA_DECODE_SPLITS=N aims at N chunks at every size instead (1 to
// 4,096, for measuring).
int decode_chunk(int64_t max_capacity) {
    static const int64_t forced = [] {
        const char* env = std::getenv("APR_CUDA_DECODE_SPLITS");
        const long v = env != nullptr ? std::strtol(env, nullptr, 10) : 0;
        return v >= 1 && v <= 4096 ? static_cast<int64_t>(v) : int64_t{0};
    }();
    const int64_t target = forced > 0 ? forced : max_capacity <= 8192 ? 256 : 64;
    int c = 32;
    while (c < 256 && max_capacity > target * static_cast<int64_t>(c)) c *= 2;
    return c;
}

template <bool F16, int L>
void launch_decode(const KVRows& kv, int layer, const float* q, const float* k, const float* v,
                   const int32_t* positions, int64_t rows, int64_t heads, int64_t kv_heads, int64_t hd, float scale,
                   const float* inv_freq, bool neox, int64_t max_capacity, void* scratch, float* out, Stream s) {
    const int chunk = decode_chunk(max_capacity);
    const int splits = static_cast<int>((max_capacity + chunk - 1) / chunk);
    const size_t counter_bytes = (static_cast<size_t>(rows * heads) * sizeof(int) + 255) / 256 * 256;
    auto* counters = static_cast<int*>(scratch);
    auto* partial = reinterpret_cast<float*>(static_cast<std::byte*>(scratch) + counter_bytes);
    const dim3 grid(static_cast<unsigned>(heads), static_cast<unsigned>(rows), static_cast<unsigned>(splits));
    const size_t smem = static_cast<size_t>(3 * hd + std::max(chunk, splits)) * sizeof(float);
    launch_pdl(attention_decode_kernel<F16, L>, grid, dim3(kDecodeThreads), smem, s, kv, layer, q, k, v, positions,
               static_cast<int>(heads), static_cast<int>(kv_heads), static_cast<int>(hd), scale, inv_freq, neox, chunk,
               splits, counters, partial, out);
}


// ---- grouped by KV head ----
//
// One block per (KV head, batch row, chunk of `chunk` positions) computes the
// group's G query heads together: the per-head kernel reads every cached key
// and value once per query head (7 times on Qwen2.5-1.5B, 14 heads over 2),
// this one once. Each lane holds L = head_dim / 32 consecutive values of a
// row for the values (the block's warps take the chunk's positions 8 at a
// time); the scores of an f16 cache take a position's key per few
// neighbouring threads instead (see there). The prologue is the per-head kernel's (the same
// RoPE arithmetic, the same stores, q, k and v rounded to the cache's
// precision), so the two kernels differ only in summation order. Partials
// (max, sum, two spare floats, then the head's P.V) sit at a 16-byte aligned
// stride of head_dim + 4 floats, so the merge reads them as float4.
constexpr int kGroupedThreads = 256;
constexpr int kGroupedWarps = kGroupedThreads / 32;
constexpr int kMaxGroupedHeads = 8;

template <bool F16, int L, int G>
__global__ void __launch_bounds__(kGroupedThreads)
    attention_decode_grouped_kernel(KVRows kv, int layer, const float* __restrict__ q, const float* __restrict__ k,
                                    const float* __restrict__ v, const int32_t* __restrict__ positions, int heads,
                                    int kv_heads, float scale, const float* __restrict__ inv_freq, bool neox, int chunk,
                                    int max_splits, float* __restrict__ partial,
                                    float* __restrict__ out) {
    constexpr int hd = 32 * L, stride = hd + 4;
    const int kvh = blockIdx.x, r = blockIdx.y, split = blockIdx.z;
    const int pos = positions[r];
    const int n = pos + 1;
    const int nsplit = (n + chunk - 1) / chunk;
    if (split >= nsplit) {
        pdl_wait();  // no block leaves before the kernel before it is done (pdl.cuh)
        return;
    }
    const int kv_dim = kv_heads * hd, h0 = kvh * G;
    const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
    extern __shared__ float smem[];
    float* qs = smem;                    // G x hd: the roped queries, in the cache's precision
    float* kc = qs + G * hd;             // hd: this position's key
    float* vc = kc + hd;                 // hd: this position's value
    float* sc = vc + hd;                 // G x chunk: scores, then probabilities
    const int sc_stride = chunk;
    float* part = sc + G * sc_stride;    // kGroupedWarps x G x hd: each warp's P.V sums
    __shared__ float m_s[G], l_s[G];
    const size_t cap = static_cast<size_t>(kv.capacity[r]);
    const size_t base = static_cast<size_t>(layer) * cap * kv_dim + static_cast<size_t>(kvh) * hd;
    const void* kb = kv.k_base[r];
    const void* vb = kv.v_base[r];
    const int j0 = split * chunk, j1 = min(n, j0 + chunk);
    // Scores of an f16 cache: a position's key is read by tp neighbouring
    // threads, each a part of 8 * nload values in 16-byte loads all issued
    // before any is used, so a chunk's keys cost one trip to memory (lanes
    // over the values and warps over 4 positions at a time needed chunk / 32),
    // and the first trip's loads are issued here, before the prologue, whose
    // loads, RoPE and barriers then hide them; the queries come from shared
    // memory and the parts meet in log2(tp) shuffles instead of a 32-lane
    // reduction per head and position.
    const int tp = min(max(kGroupedThreads / chunk, max(1, L / 2)), 4 * L);
    const int nload = 4 * L / tp, kpart = tid % tp, dp = kpart * nload * 8;
    uint4 kraw[F16 ? 8 : 1];
    auto load_keys = [&](int j, bool use) {
        const uint4* src = reinterpret_cast<const uint4*>(static_cast<const uint16_t*>(kb) + base +
                                                          static_cast<size_t>(use ? j : j0) * kv_dim + dp);
#pragma unroll
        for (int i = 0; i < 8; ++i)
            if (i < nload) kraw[i] = use ? src[i] : make_uint4(0u, 0u, 0u, 0u);
    };
    if constexpr (F16) {
        const int j = j0 + tid / tp;
        load_keys(j, j < j1 && j != pos);
    }
    // Those keys are earlier steps' (this position's is stored below), so
    // they were read before waiting for the kernel that made q, k and v.
    pdl_wait();
    pdl_release();

    // RoPE of the G queries and the key, pair by pair (rope_qk_kernel's arithmetic).
    constexpr int half = hd / 2;
    const float fpos = static_cast<float>(pos);
    for (int t = tid; t < (G + 1) * half; t += kGroupedThreads) {
        const int g = t / half, i = t % half;
        const float* src = g < G ? q + (static_cast<size_t>(r) * heads + h0 + g) * hd
                                 : k + (static_cast<size_t>(r) * kv_heads + kvh) * hd;
        float* dst = g < G ? qs + g * hd : kc;
        if (inv_freq != nullptr) {
            float sn, cs;
            rope_angle(fpos, inv_freq[i], sn, cs);
            rope_pair(src, dst, i, half, neox, sn, cs);
        } else {
            dst[i] = src[i];
            dst[i + half] = src[i + half];
        }
    }
    __syncthreads();
    const size_t at = base + static_cast<size_t>(pos) * kv_dim;
    const float* vh = v + (static_cast<size_t>(r) * kv_heads + kvh) * hd;
    for (int i = tid; i < hd; i += kGroupedThreads) {
        const float kv_k = kc[i], kv_v = vh[i];
        if (split == 0) store_kv<F16>(kv, r, at + i, kv_k, kv_v);  // one writer per KV head; nothing here reads that slot
        kc[i] = to_cache_precision<F16>(kv_k);
        vc[i] = to_cache_precision<F16>(kv_v);
    }
    for (int i = tid; i < G * hd; i += kGroupedThreads) qs[i] = to_cache_precision<F16>(qs[i]);
    __syncthreads();

    const int d0 = lane * L;
    // This lane's L values of rows jj .. jj + N - 1, their loads issued
    // together: from the cache, the new key/value at the row's own position,
    // zeros past the chunk.
    auto rows_ahead = [&](const void* cache, const float* fresh, int jj, auto& x) {
        constexpr int N = sizeof(x) / sizeof(x[0]);
#pragma unroll
        for (int u = 0; u < N; ++u) {
            const int j = jj + u;
            if (j >= j1) {
#pragma unroll
                for (int i = 0; i < L; ++i) x[u][i] = 0.0f;
            } else if (j == pos) {
#pragma unroll
                for (int i = 0; i < L; ++i) x[u][i] = fresh[d0 + i];
            } else {
                load_kv_vec<F16, L>(cache, base + static_cast<size_t>(j) * kv_dim + d0, x[u]);
            }
        }
    };
    // Values of an f16 cache with 128-value heads: a warp's first 16 rows
    // (its first two trips of 8), loaded right after the scores' keys so
    // they arrive during the softmax.
    constexpr int kVPre = F16 && L == 4 ? 16 : 1;
    uint2 vpre[kVPre];
    if constexpr (F16) {
        for (int jp = j0; jp < j1; jp += kGroupedThreads / tp) {
            const int j = jp + tid / tp;
            const bool valid = j < j1, own = j == pos;
            if (jp != j0) load_keys(j, valid && !own);  // the first pass's came before the prologue
            uint4* raw = kraw;
            if (own) {  // the new key, from shared memory (already in the cache's precision)
#pragma unroll
                for (int i = 0; i < 8; ++i) {
                    if (i >= nload) break;
                    uint32_t w[4];
#pragma unroll
                    for (int c = 0; c < 4; ++c)
                        w[c] = static_cast<uint32_t>(float_to_half_bits(kc[dp + 8 * i + 2 * c])) |
                               static_cast<uint32_t>(float_to_half_bits(kc[dp + 8 * i + 2 * c + 1])) << 16;
                    raw[i] = make_uint4(w[0], w[1], w[2], w[3]);
                }
            }
            float s[G];
#pragma unroll
            for (int g = 0; g < G; ++g) s[g] = 0.0f;
#pragma unroll
            for (int i = 0; i < 8; ++i) {
                if (i >= nload) break;
                const uint32_t w[4] = {raw[i].x, raw[i].y, raw[i].z, raw[i].w};
                float kf[8];
#pragma unroll
                for (int c = 0; c < 4; ++c) {
                    kf[2 * c] = half_bits_to_float(static_cast<uint16_t>(w[c] & 0xFFFFu));
                    kf[2 * c + 1] = half_bits_to_float(static_cast<uint16_t>(w[c] >> 16));
                }
#pragma unroll
                for (int g = 0; g < G; ++g) {
                    const float4 qa = *reinterpret_cast<const float4*>(qs + g * hd + dp + 8 * i);
                    const float4 qb = *reinterpret_cast<const float4*>(qs + g * hd + dp + 8 * i + 4);
                    s[g] += qa.x * kf[0] + qa.y * kf[1] + qa.z * kf[2] + qa.w * kf[3] + qb.x * kf[4] + qb.y * kf[5] +
                            qb.z * kf[6] + qb.w * kf[7];
                }
            }
            for (int o = tp / 2; o > 0; o >>= 1)
#pragma unroll
                for (int g = 0; g < G; ++g) s[g] += __shfl_xor_sync(0xffffffffu, s[g], o);
            if (kpart == 0 && valid)
#pragma unroll
                for (int g = 0; g < G; ++g) sc[g * sc_stride + j - j0] = s[g] * scale;
        }
        if constexpr (L == 4) {
#pragma unroll
            for (int u = 0; u < kVPre; ++u) {
                const int j = j0 + warp * 8 + (u / 8) * 8 * kGroupedWarps + u % 8;
                vpre[u] = j < j1 && j != pos
                              ? *reinterpret_cast<const uint2*>(static_cast<const uint16_t*>(vb) + base +
                                                                static_cast<size_t>(j) * kv_dim + d0)
                              : make_uint2(0u, 0u);
            }
        }
    } else {
        constexpr int kAhead = 4;
        float qv[G][L];
#pragma unroll
        for (int g = 0; g < G; ++g)
#pragma unroll
            for (int i = 0; i < L; ++i) qv[g][i] = qs[g * hd + d0 + i];
        for (int jj = j0 + warp * kAhead; jj < j1; jj += kAhead * kGroupedWarps) {
            float x[kAhead][L];
            rows_ahead(kb, kc, jj, x);
#pragma unroll
            for (int u = 0; u < kAhead; ++u)
#pragma unroll
                for (int g = 0; g < G; ++g) {
                    float s = 0.0f;
#pragma unroll
                    for (int i = 0; i < L; ++i) s += qv[g][i] * x[u][i];
                    for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
                    if (lane == 0 && jj + u < j1) sc[g * sc_stride + jj + u - j0] = s * scale;
                }
        }
    }
    __syncthreads();
    const int count = j1 - j0;
    for (int g = warp; g < G; g += kGroupedWarps) {
        float* sg = sc + g * sc_stride;
        float m = -INFINITY;
        for (int j = lane; j < count; j += 32) m = fmaxf(m, sg[j]);
        for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
        float l = 0.0f;
        for (int j = lane; j < count; j += 32) {
            const float p = expf(sg[j] - m);
            sg[j] = p;
            l += p;
        }
        for (int o = 16; o > 0; o >>= 1) l += __shfl_xor_sync(0xffffffffu, l, o);
        if (lane == 0) {
            m_s[g] = m;
            l_s[g] = l;
        }
    }
    __syncthreads();
    {
        float acc[G][L];
#pragma unroll
        for (int g = 0; g < G; ++g)
#pragma unroll
            for (int i = 0; i < L; ++i) acc[g][i] = 0.0f;
        // Values: 8 rows of a warp in flight (a chunk of 128 in two trips).
        constexpr int kVAhead = 8;
        int trip = 0;
        for (int jj = j0 + warp * kVAhead; jj < j1; jj += kVAhead * kGroupedWarps, ++trip) {
            float x[kVAhead][L];
            if (F16 && L == 4 && trip < 2) {
#pragma unroll
                for (int u = 0; u < kVAhead; ++u) {
                    const uint2 w = trip == 0 ? vpre[u % kVPre] : vpre[(kVAhead + u) % kVPre];
                    const int j = jj + u;
                    const uint32_t wv[2] = {w.x, w.y};
#pragma unroll
                    for (int i = 0; i < L; ++i)
                        x[u][i] = j == pos ? vc[d0 + i]
                                           : half_bits_to_float(static_cast<uint16_t>(wv[(i / 2) % 2] >> (16 * (i % 2))));
                }
            } else {
                rows_ahead(vb, vc, jj, x);
            }
#pragma unroll
            for (int u = 0; u < kVAhead; ++u) {
                if (jj + u >= j1) continue;
#pragma unroll
                for (int g = 0; g < G; ++g) {
                    const float p = sc[g * sc_stride + jj + u - j0];
#pragma unroll
                    for (int i = 0; i < L; ++i) acc[g][i] += p * x[u][i];
                }
            }
        }
#pragma unroll
        for (int g = 0; g < G; ++g)
#pragma unroll
            for (int i = 0; i < L; ++i) part[(warp * G + g) * hd + d0 + i] = acc[g][i];
    }
    __syncthreads();
    float* pr = partial + (static_cast<size_t>(r) * heads + h0) * max_splits * stride;  // head g: + g * max_splits * stride
    for (int t = tid; t < G * hd; t += kGroupedThreads) {
        const int g = t / hd, d = t % hd;
        float a = 0.0f;
#pragma unroll
        for (int w = 0; w < kGroupedWarps; ++w) a += part[(w * G + g) * hd + d];
        if (nsplit == 1) out[(static_cast<size_t>(r) * heads + h0 + g) * hd + d] = a / l_s[g];
        else pr[(static_cast<size_t>(g) * max_splits + split) * stride + 4 + d] = a;
    }
    if (nsplit == 1) return;
    if (tid < G) {
        float* ps = pr + (static_cast<size_t>(tid) * max_splits + split) * stride;
        ps[0] = m_s[tid];
        ps[1] = l_s[tid];
    }
    // attention_decode_merge_kernel, launched next, merges the chunks.
}

// The chunks of the grouped kernel merged: one block per (query head, batch
// row), its threads split into kMergeGroups groups of head_dim / 4 threads
// (four head values each); group g sums chunks g, g + kMergeGroups, ... so a
// thread's loads (at most 16 chunks at once) are in flight together and the
// whole block reads the head's partials in one or two trips, on as many
// multiprocessors as there are heads and rows. (In the grouped kernel's last
// block, one multiprocessor read all of a KV head's partials, 400 KB at
// 16,384 positions: most of its time there.)
constexpr int kMergeThreads = 256, kMergeGroups = 8, kMergeAhead = 16;

template <int L>
__global__ void __launch_bounds__(kMergeThreads)
    attention_decode_merge_kernel(const int32_t* __restrict__ positions, int heads, int chunk, int max_splits,
                                  const float* __restrict__ partial, float* __restrict__ out) {
    pdl_wait();
    pdl_release();
    constexpr int hd = 32 * L, stride = hd + 4, quads = hd / 4;
    const int h = blockIdx.x, r = blockIdx.y, tid = threadIdx.x;
    const int nsplit = (positions[r] + 1 + chunk - 1) / chunk;
    if (nsplit == 1) return;  // the grouped kernel wrote the output
    const float* ph = partial + (static_cast<size_t>(r) * heads + h) * max_splits * stride;
    extern __shared__ float msm[];
    float* wgt = msm;                 // nsplit: each chunk's weight e^(m - M)
    float* acc = wgt + max_splits;    // kMergeGroups x hd: the groups' sums
    __shared__ float red[kMergeThreads / 32];
    float big = -INFINITY;
    for (int sp = tid; sp < nsplit; sp += kMergeThreads) big = fmaxf(big, ph[static_cast<size_t>(sp) * stride]);
    big = block_max(big, red);
    float total = 0.0f;
    for (int sp = tid; sp < nsplit; sp += kMergeThreads) {
        const float* ps = ph + static_cast<size_t>(sp) * stride;
        const float w = expf(ps[0] - big);
        wgt[sp] = w;
        total += ps[1] * w;
    }
    total = block_add(total, red);  // its barriers also publish wgt
    const int grp = tid / quads, d = (tid % quads) * 4;
    if (grp < kMergeGroups) {
        float4 a = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        for (int sb = grp; sb < nsplit; sb += kMergeGroups * kMergeAhead) {
            float4 pv[kMergeAhead];
#pragma unroll
            for (int u = 0; u < kMergeAhead; ++u) {
                const int sp = sb + u * kMergeGroups;
                pv[u] = sp < nsplit ? *reinterpret_cast<const float4*>(ph + static_cast<size_t>(sp) * stride + 4 + d)
                                    : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
            }
#pragma unroll
            for (int u = 0; u < kMergeAhead; ++u) {
                const int sp = sb + u * kMergeGroups;
                if (sp >= nsplit) break;
                const float w = wgt[sp];
                a.x += pv[u].x * w;
                a.y += pv[u].y * w;
                a.z += pv[u].z * w;
                a.w += pv[u].w * w;
            }
        }
        *reinterpret_cast<float4*>(acc + grp * hd + d) = a;
    }
    __syncthreads();
    const float inv = 1.0f / total;
    for (int i = tid; i < hd; i += kMergeThreads) {
        float a = 0.0f;
#pragma unroll
        for (int g = 0; g < kMergeGroups; ++g) a += acc[g * hd + i];
        out[(static_cast<size_t>(r) * heads + h) * hd + i] = a * inv;
    }
}

// Positions per grouped block: a power of two from 32 to 256, about 1/256 of
// the capacity, so a full cache has about 256 chunks per (row, KV head) and
// a half-full one (the cache doubles as it grows) about 128.
// APR_CUDA_DECODE_CHUNK=N (a power of two, 32 to 256) sets it instead, for measuring.
int grouped_chunk(int64_t max_capacity) {
    static const int forced = [] {
        const char* env = std::getenv("APR_CUDA_DECODE_CHUNK");
        const int c = env != nullptr ? std::atoi(env) : 0;
        return c >= 32 && c <= 256 && (c & (c - 1)) == 0 ? c : 0;
    }();
    if (forced != 0) return forced;
    int c = 32;
    while (c < 256 && max_capacity > 256 * static_cast<int64_t>(c)) c *= 2;
    return c;
}

bool grouped(int64_t heads, int64_t kv_heads, int64_t hd) {
    if (kv_heads <= 0 || heads % kv_heads != 0 || heads / kv_heads > kMaxGroupedHeads) return false;
    return hd == 32 || hd == 64 || hd == 128;
}

size_t grouped_smem(int g, int hd, int chunk) {
    return static_cast<size_t>(g * hd + 2 * hd + g * chunk + kGroupedWarps * g * hd) * sizeof(float);
}

template <bool F16, int L, int G>
void launch_grouped_g(const KVRows& kv, int layer, const float* q, const float* k, const float* v,
                      const int32_t* positions, int64_t rows, int64_t heads, int64_t kv_heads, float scale,
                      const float* inv_freq, bool neox, int64_t max_capacity, void* scratch, float* out, Stream s) {
    const int chunk = grouped_chunk(max_capacity);
    const int splits = static_cast<int>((max_capacity + chunk - 1) / chunk);
    const size_t counter_bytes = (static_cast<size_t>(rows * heads) * sizeof(int) + 255) / 256 * 256;
    auto* partial = reinterpret_cast<float*>(static_cast<std::byte*>(scratch) + counter_bytes);
    const size_t smem = grouped_smem(G, 32 * L, chunk);
    // Past the default 48 KiB per block, once per kernel (never inside a
    // recorded step: the first decode step of a shape runs op by op).
    static size_t allowed = 48 << 10;
    if (smem > allowed) {
        if (cudaFuncSetAttribute(attention_decode_grouped_kernel<F16, L, G>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                 static_cast<int>(smem)) != cudaSuccess)
            throw std::runtime_error("apr::cuda::attention_decode: shared memory for the grouped kernel");
        allowed = smem;
    }
    const dim3 grid(static_cast<unsigned>(kv_heads), static_cast<unsigned>(rows), static_cast<unsigned>(splits));
    launch_pdl(attention_decode_grouped_kernel<F16, L, G>, grid, dim3(kGroupedThreads), smem, s, kv, layer, q, k, v,
               positions, static_cast<int>(heads), static_cast<int>(kv_heads), scale, inv_freq, neox, chunk, splits,
               partial, out);
    if (splits == 1) return;
    const size_t merge_smem = static_cast<size_t>(splits + kMergeGroups * 32 * L) * sizeof(float);
    static size_t merge_allowed = 48 << 10;
    if (merge_smem > merge_allowed) {
        if (cudaFuncSetAttribute(attention_decode_merge_kernel<L>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                 static_cast<int>(merge_smem)) != cudaSuccess)
            throw std::runtime_error("apr::cuda::attention_decode: shared memory for the merge kernel");
        merge_allowed = merge_smem;
    }
    launch_pdl(attention_decode_merge_kernel<L>, dim3(static_cast<unsigned>(heads), static_cast<unsigned>(rows)),
               dim3(kMergeThreads), merge_smem, s, positions, static_cast<int>(heads), chunk, splits, partial, out);
}

template <bool F16, int L>
void launch_grouped(const KVRows& kv, int layer, const float* q, const float* k, const float* v,
                    const int32_t* positions, int64_t rows, int64_t heads, int64_t kv_heads, float scale,
                    const float* inv_freq, bool neox, int64_t max_capacity, void* scratch, float* out, Stream s) {
    switch (heads / kv_heads) {
#define APR_GROUPED(G)                                                                                              \
    case G:                                                                                                         \
        launch_grouped_g<F16, L, G>(kv, layer, q, k, v, positions, rows, heads, kv_heads, scale, inv_freq, neox,    \
                                    max_capacity, scratch, out, s);                                                 \
        return;
        APR_GROUPED(1)
        APR_GROUPED(2)
        APR_GROUPED(3)
        APR_GROUPED(4)
        APR_GROUPED(5)
        APR_GROUPED(6)
        APR_GROUPED(7)
        APR_GROUPED(8)
#undef APR_GROUPED
        default: throw std::invalid_argument("apr::cuda::attention_decode: more than 8 query heads per KV head");
    }
}

// The grouped kernel, unless APR_CUDA_DECODE_GROUPED=0 (for measuring).
bool grouped_enabled() {
    static const bool on = [] {
        const char* env = std::getenv("APR_CUDA_DECODE_GROUPED");
        return env == nullptr || env[0] != '0';
    }();
    return on;
}

}  // namespace

size_t attention_decode_scratch_bytes(int64_t rows, int64_t heads, int64_t head_dim, int64_t max_capacity) {
    const size_t counter_bytes = (static_cast<size_t>(rows * heads) * sizeof(int) + 255) / 256 * 256;
    const int chunk = decode_chunk(max_capacity);
    const int64_t splits = (max_capacity + chunk - 1) / chunk;
    const int g_chunk = grouped_chunk(max_capacity);
    const int64_t g_splits = (max_capacity + g_chunk - 1) / g_chunk;
    // Either kernel's partials: per head, its splits at head_dim + 2 floats
    // (per head) or head_dim + 4 (grouped).
    const int64_t floats = std::max(splits * (head_dim + 2), g_splits * (head_dim + 4));
    return counter_bytes + static_cast<size_t>(rows * heads * floats) * sizeof(float);
}

bool attention_decode_supported(int64_t head_dim) { return head_dim >= 1 && head_dim <= 256; }

void attention_decode(const KVRows& kv, int layer, const float* q, const float* k, const float* v,
                      const int32_t* positions, int64_t rows, int64_t heads, int64_t kv_heads, int64_t head_dim,
                      float scale, const float* inv_freq, bool neox, int64_t max_capacity, void* scratch, float* out,
                      Stream s) {
    if (rows == 0) return;
    if (!attention_decode_supported(head_dim)) throw std::invalid_argument("apr::cuda::attention_decode: head_dim above 256");
    if (grouped_enabled() && grouped(heads, kv_heads, head_dim)) {
#define APR_GROUPED_L(LL)                                                                                           \
    do {                                                                                                            \
        if (kv.f16) launch_grouped<true, LL>(kv, layer, q, k, v, positions, rows, heads, kv_heads, scale, inv_freq,  \
                                             neox, max_capacity, scratch, out, s);                                   \
        else launch_grouped<false, LL>(kv, layer, q, k, v, positions, rows, heads, kv_heads, scale, inv_freq, neox,  \
                                       max_capacity, scratch, out, s);                                               \
    } while (0)
        if (head_dim == 32) APR_GROUPED_L(1);
        else if (head_dim == 64) APR_GROUPED_L(2);
        else APR_GROUPED_L(4);
#undef APR_GROUPED_L
        return;
    }
#define APR_DECODE(LL)                                                                                             \
    do {                                                                                                           \
        if (kv.f16) launch_decode<true, LL>(kv, layer, q, k, v, positions, rows, heads, kv_heads, head_dim, scale,  \
                                            inv_freq, neox, max_capacity, scratch, out, s);                         \
        else launch_decode<false, LL>(kv, layer, q, k, v, positions, rows, heads, kv_heads, head_dim, scale,        \
                                      inv_freq, neox, max_capacity, scratch, out, s);                               \
    } while (0)
    if (head_dim <= 32) APR_DECODE(1);
    else if (head_dim <= 64) APR_DECODE(2);
    else if (head_dim <= 128) APR_DECODE(4);
    else APR_DECODE(8);
#undef APR_DECODE
}

}  // namespace apr::cuda
