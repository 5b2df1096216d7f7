// Attention over the device KV cache. One thread block per (query head,
// batch row); its warps take the positions in turn, each keeping an online
// softmax (running max, sum and P.V in f32), and the warps' partial results
// are merged at the end. Lanes split the head dimension, L values each.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <stdexcept>

#include "cuda/blocks.cuh"
#include "cuda/kernels.hpp"

namespace apr::cuda {
namespace {


template <bool F16>
__device__ __forceinline__ float load_kv(const void* base, size_t i) {
    if constexpr (F16) return half_bits_to_float(static_cast<const uint16_t*>(base)[i]);
    else return static_cast<const float*>(base)[i];
}

template <bool F16>
__global__ void kv_store_kernel(KVRows kv, int layer, const float* __restrict__ k, const float* __restrict__ v,
                                const int32_t* __restrict__ positions, int64_t kv_dim) {
    const int64_t r = blockIdx.x;
    const size_t at = (static_cast<size_t>(layer) * kv.capacity[r] + positions[r]) * kv_dim;
    for (int64_t i = threadIdx.x; i < kv_dim; i += blockDim.x) {
        if constexpr (F16) {
            static_cast<uint16_t*>(kv.k_base[r])[at + i] = float_to_half_bits(k[r * kv_dim + i]);
            static_cast<uint16_t*>(kv.v_base[r])[at + i] = float_to_half_bits(v[r * kv_dim + i]);
        } else {
            static_cast<float*>(kv.k_base[r])[at + i] = k[r * kv_dim + i];
            static_cast<float*>(kv.v_base[r])[at + i] = v[r * kv_dim + i];
        }
    }
}

// kWarps warps per block share the positions: 16 for decode-sized batches
// (few blocks, long caches), 4 for prompts (many blocks).
template <bool F16, int L, int kWarps>
__global__ void __launch_bounds__(kWarps * 32)
    attention_kernel(KVRows kv, int layer, const float* __restrict__ q, const int32_t* __restrict__ positions,
                     int heads, int kv_heads, int hd, float scale, float* __restrict__ out) {
    const int h = blockIdx.x;
    const int64_t r = blockIdx.y;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int kvh = h / (heads / kv_heads);
    const int kv_dim = kv_heads * hd;
    const int n = positions[r] + 1;
    const size_t layer_at = static_cast<size_t>(layer) * kv.capacity[r] * kv_dim + static_cast<size_t>(kvh) * hd;
    const void* kb = F16 ? static_cast<const void*>(static_cast<const uint16_t*>(kv.k_base[r]) + layer_at)
                         : static_cast<const void*>(static_cast<const float*>(kv.k_base[r]) + layer_at);
    const void* vb = F16 ? static_cast<const void*>(static_cast<const uint16_t*>(kv.v_base[r]) + layer_at)
                         : static_cast<const void*>(static_cast<const float*>(kv.v_base[r]) + layer_at);
    const float* qh = q + (r * heads + h) * hd;
    float qv[L], acc[L];
#pragma unroll
    for (int i = 0; i < L; ++i) {
        const int d = lane + 32 * i;
        float x = d < hd ? qh[d] : 0.0f;
        if (F16) x = half_bits_to_float(float_to_half_bits(x));  // the CPU rounds q to f16 too
        qv[i] = x;
        acc[i] = 0.0f;
    }
    float m = -INFINITY, l = 0.0f;
    for (int j = warp; j < n; j += kWarps) {
        const size_t row = static_cast<size_t>(j) * kv_dim;
        float s = 0.0f;
#pragma unroll
        for (int i = 0; i < L; ++i) {
            const int d = lane + 32 * i;
            if (d < hd) s += qv[i] * load_kv<F16>(kb, row + d);
        }
        for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
        s *= scale;
        const float m_new = fmaxf(m, s);
        const float alpha = expf(m - m_new);
        const float p = expf(s - m_new);
        l = l * alpha + p;
#pragma unroll
        for (int i = 0; i < L; ++i) {
            const int d = lane + 32 * i;
            acc[i] = acc[i] * alpha + (d < hd ? p * load_kv<F16>(vb, row + d) : 0.0f);
        }
        m = m_new;
    }
    // Merge the warps: out = sum_w acc_w e^(m_w - M) / sum_w l_w e^(m_w - M).
    __shared__ float sm[kWarps], sl[kWarps];
    __shared__ float sacc[kWarps][32 * L];
    if (lane == 0) {
        sm[warp] = m;
        sl[warp] = l;
    }
#pragma unroll
    for (int i = 0; i < L; ++i) sacc[warp][lane + 32 * i] = acc[i];
    __syncthreads();
    float big = -INFINITY;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) big = fmaxf(big, sm[w]);
    float total = 0.0f, f[kWarps];
#pragma unroll
    for (int w = 0; w < kWarps; ++w) {
        f[w] = sm[w] == -INFINITY ? 0.0f : expf(sm[w] - big);
        total += sl[w] * f[w];
    }
    const float inv = 1.0f / total;
    float* o = out + (r * heads + h) * hd;
    for (int d = threadIdx.x; d < hd; d += blockDim.x) {
        float v = 0.0f;
#pragma unroll
        for (int w = 0; w < kWarps; ++w) v += sacc[w][d] * f[w];
        o[d] = v * inv;
    }
}

template <bool F16>
void launch_attention(const KVRows& kv, int layer, const float* q, const int32_t* positions, int64_t rows,
                      int64_t heads, int64_t kv_heads, int64_t hd, float scale, float* out, Stream s) {
    const dim3 grid(static_cast<unsigned>(heads), static_cast<unsigned>(rows));
    const int H = static_cast<int>(heads), KH = static_cast<int>(kv_heads), D = static_cast<int>(hd);
    const bool decode = rows <= 16;
#define APR_ATTN(LL)                                                                                              \
    do {                                                                                                          \
        if (decode && LL <= 8)                                                                                    \
            attention_kernel<F16, LL, (LL <= 8 ? 16 : 4)><<<grid, (LL <= 8 ? 16 : 4) * 32, 0, s>>>(kv, layer, q, positions, H, KH, D, scale, out); \
        else                                                                                                      \
            attention_kernel<F16, LL, 4><<<grid, 4 * 32, 0, s>>>(kv, layer, q, positions, H, KH, D, scale, out);   \
    } while (0)
    if (hd <= 32) APR_ATTN(1);
    else if (hd <= 64) APR_ATTN(2);
    else if (hd <= 128) APR_ATTN(4);
    else if (hd <= 256) APR_ATTN(8);
    else if (hd <= 512) APR_ATTN(16);
    else if (hd <= 1024) APR_ATTN(32);
    else throw std::invalid_argument("apr::cuda::attention: head_dim above 1024");
#undef APR_ATTN
}

// ---- decode: rope, cache store and attention in one launch, split over the cache ----
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

template <bool F16>
__device__ __forceinline__ float to_cache_precision(float x) {
    if constexpr (F16) return half_bits_to_float(float_to_half_bits(x));
    else return x;
}

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
            const float theta = __fmul_rn(fpos, inv_freq[i]);
            float sn, cs;
            sincosf(theta, &sn, &cs);
            const int i0 = neox ? i : 2 * i, i1 = neox ? i + half : 2 * i + 1;
            float x0 = qh[i0], x1 = qh[i1];
            qs[i0] = __fsub_rn(__fmul_rn(x0, cs), __fmul_rn(x1, sn));
            qs[i1] = __fadd_rn(__fmul_rn(x0, sn), __fmul_rn(x1, cs));
            x0 = kh[i0];
            x1 = kh[i1];
            kc[i0] = __fsub_rn(__fmul_rn(x0, cs), __fmul_rn(x1, sn));
            kc[i1] = __fadd_rn(__fmul_rn(x0, sn), __fmul_rn(x1, cs));
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
        if (writer) {
            if constexpr (F16) {
                static_cast<uint16_t*>(kv.k_base[r])[at + i] = float_to_half_bits(kv_k);
                static_cast<uint16_t*>(kv.v_base[r])[at + i] = float_to_half_bits(kv_v);
            } else {
                static_cast<float*>(kv.k_base[r])[at + i] = kv_k;
                static_cast<float*>(kv.v_base[r])[at + i] = kv_v;
            }
        }
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
    attention_decode_kernel<F16, L><<<grid, kDecodeThreads, smem, s>>>(
        kv, layer, q, k, v, positions, static_cast<int>(heads), static_cast<int>(kv_heads), static_cast<int>(hd), scale,
        inv_freq, neox, chunk, splits, counters, partial, out);
}

}  // namespace

void kv_store(const KVRows& kv, int layer, const float* k, const float* v, const int32_t* positions, int64_t rows,
              int64_t kv_dim, Stream s) {
    if (rows == 0) return;
    if (kv.f16) kv_store_kernel<true><<<static_cast<unsigned>(rows), 256, 0, s>>>(kv, layer, k, v, positions, kv_dim);
    else kv_store_kernel<false><<<static_cast<unsigned>(rows), 256, 0, s>>>(kv, layer, k, v, positions, kv_dim);
}

size_t attention_decode_scratch_bytes(int64_t rows, int64_t heads, int64_t head_dim, int64_t max_capacity) {
    const int chunk = decode_chunk(max_capacity);
    const int64_t splits = (max_capacity + chunk - 1) / chunk;
    const size_t counter_bytes = (static_cast<size_t>(rows * heads) * sizeof(int) + 255) / 256 * 256;
    return counter_bytes + static_cast<size_t>(rows * heads * splits * (head_dim + 2)) * sizeof(float);
}

bool attention_decode_supported(int64_t head_dim) { return head_dim >= 1 && head_dim <= 256; }

void attention_decode(const KVRows& kv, int layer, const float* q, const float* k, const float* v,
                      const int32_t* positions, int64_t rows, int64_t heads, int64_t kv_heads, int64_t head_dim,
                      float scale, const float* inv_freq, bool neox, int64_t max_capacity, void* scratch, float* out,
                      Stream s) {
    if (rows == 0) return;
    if (!attention_decode_supported(head_dim)) throw std::invalid_argument("apr::cuda::attention_decode: head_dim above 256");
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

void attention(const KVRows& kv, int layer, const float* q, const int32_t* positions, int64_t rows, int64_t heads,
               int64_t kv_heads, int64_t head_dim, float scale, float* out, Stream s) {
    if (rows == 0) return;
    if (kv.f16) launch_attention<true>(kv, layer, q, positions, rows, heads, kv_heads, head_dim, scale, out, s);
    else launch_attention<false>(kv, layer, q, positions, rows, heads, kv_heads, head_dim, scale, out, s);
}

}  // namespace apr::cuda
