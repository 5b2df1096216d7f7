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
#include "cuda/kv_access.cuh"
#include "cuda/pdl.cuh"
#include "cuda/rope.cuh"

namespace apr::cuda {
namespace {


template <bool F16>
__global__ void kv_store_kernel(KVRows kv, int layer, const float* __restrict__ k, const float* __restrict__ v,
                                const int32_t* __restrict__ positions, int64_t kv_dim) {
    pdl_wait();
    pdl_release();
    const int64_t r = blockIdx.x;
    const size_t at = (static_cast<size_t>(layer) * kv.capacity[r] + positions[r]) * kv_dim;
    for (int64_t i = threadIdx.x; i < kv_dim; i += blockDim.x) store_kv<F16>(kv, r, at + i, k[r * kv_dim + i], v[r * kv_dim + i]);
}

// rope_qk and kv_store in one launch: block (row, head of q or k), a thread
// per pair, rope.cuh's arithmetic (as rope_qk's) and kv_store's conversion,
// so the same bits as the two. q and k are roped in place as rope_qk leaves
// them; a k head's thread also stores its pair and v's into the cache. Two
// launches of one block a row took 5.1 + 2.9 us at 8 sequences (H200).
template <bool F16>
__global__ void rope_store_kernel(KVRows kv, int layer, float* q, float* k, const float* __restrict__ v,
                                  const int32_t* __restrict__ positions, int heads, int kv_heads, int hd,
                                  const float* __restrict__ inv_freq, bool neox) {
    pdl_wait();
    pdl_release();
    const int64_t r = blockIdx.x;
    const int h = static_cast<int>(blockIdx.y), kvh = h - heads;
    const bool key = h >= heads;
    const int half = hd / 2, kv_dim = kv_heads * hd;
    const float pos = static_cast<float>(positions[r]);
    float* head = key ? k + (r * kv_heads + kvh) * hd : q + (r * heads + h) * hd;
    const float* vh = v + (r * kv_heads + kvh) * hd;
    const size_t at = (static_cast<size_t>(layer) * kv.capacity[r] + positions[r]) * kv_dim + static_cast<size_t>(kvh) * hd;
    for (int i = threadIdx.x; i < half; i += blockDim.x) {
        float sn, cs;
        rope_angle(pos, inv_freq[i], sn, cs);
        const int i0 = rope_first(i, neox), i1 = rope_second(i, half, neox);
        const RopePair y = rope_rotate(head[i0], head[i1], sn, cs);
        head[i0] = y.y0;
        head[i1] = y.y1;
        if (key) {
            store_kv<F16>(kv, r, at + i0, y.y0, vh[i0]);
            store_kv<F16>(kv, r, at + i1, y.y1, vh[i1]);
        }
    }
    // An odd head's last value has no pair: stored as it is.
    if (key && (hd & 1) != 0 && threadIdx.x == 0) store_kv<F16>(kv, r, at + hd - 1, head[hd - 1], vh[hd - 1]);
}

// kWarps warps per block share the positions: 16 for decode-sized batches
// (few blocks), 4 for prompts (many blocks; see launch_attention).
template <bool F16, int L, int kWarps>
__global__ void __launch_bounds__(kWarps * 32)
    attention_kernel(KVRows kv, int layer, const float* __restrict__ q, const int32_t* __restrict__ positions,
                     int heads, int kv_heads, int hd, float scale, float* __restrict__ out) {
    pdl_wait();
    pdl_release();
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

constexpr int64_t kManyWarpBlocks = 1024;  // (query head, row) blocks that still take 16 warps

template <bool F16>
void launch_attention(const KVRows& kv, int layer, const float* q, const int32_t* positions, int64_t rows,
                      int64_t heads, int64_t kv_heads, int64_t hd, float scale, float* out, Stream s) {
    const dim3 grid(static_cast<unsigned>(heads), static_cast<unsigned>(rows));
    const int H = static_cast<int>(heads), KH = static_cast<int>(kv_heads), D = static_cast<int>(hd);
    // 16 warps a block while the blocks are few (decode batches): a block's
    // warps then share its positions four times finer, which pays while
    // 16-warp blocks take at most about two waves (four 512-thread blocks a
    // multiprocessor, 528 on an H200) against one wave of 4-warp blocks.
    // The limit was 16 rows until a 32-sequence decode step's attention took
    // 35.7 us a layer on 4 warps (ncu, 1.5B-shaped at depth 128,
    // 2026-12-03). Prompts (many rows) keep 4 warps.
    const bool decode = heads * rows <= kManyWarpBlocks;
#define APR_ATTN(LL)                                                                                              \
    do {                                                                                                          \
        if (decode && LL <= 8)                                                                                    \
            launch_pdl(attention_kernel<F16, LL, (LL <= 8 ? 16 : 4)>, grid, dim3((LL <= 8 ? 16 : 4) * 32), 0, s, kv, \
                       layer, q, positions, H, KH, D, scale, out);                                                \
        else                                                                                                      \
            launch_pdl(attention_kernel<F16, LL, 4>, grid, dim3(4 * 32), 0, s, kv, layer, q, positions, H, KH, D,  \
                       scale, out);                                                                               \
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

}  // namespace

void kv_store(const KVRows& kv, int layer, const float* k, const float* v, const int32_t* positions, int64_t rows,
              int64_t kv_dim, Stream s) {
    if (rows == 0) return;
    const dim3 grid(static_cast<unsigned>(rows));
    if (kv.f16) launch_pdl(kv_store_kernel<true>, grid, dim3(256), 0, s, kv, layer, k, v, positions, kv_dim);
    else launch_pdl(kv_store_kernel<false>, grid, dim3(256), 0, s, kv, layer, k, v, positions, kv_dim);
}

void rope_qk_store(const KVRows& kv, int layer, float* q, float* k, const float* v, const int32_t* positions,
                   int64_t rows, int64_t heads, int64_t kv_heads, int64_t head_dim, const float* inv_freq, bool neox,
                   Stream s) {
    if (rows == 0) return;
    const dim3 grid(static_cast<unsigned>(rows), static_cast<unsigned>(heads + kv_heads));
    const int threads = static_cast<int>(std::clamp<int64_t>((head_dim / 2 + 31) / 32 * 32, 32, 256));
    const int H = static_cast<int>(heads), KH = static_cast<int>(kv_heads), D = static_cast<int>(head_dim);
    if (kv.f16) launch_pdl(rope_store_kernel<true>, grid, dim3(threads), 0, s, kv, layer, q, k, v, positions, H, KH, D, inv_freq, neox);
    else launch_pdl(rope_store_kernel<false>, grid, dim3(threads), 0, s, kv, layer, q, k, v, positions, H, KH, D, inv_freq, neox);
}

void attention(const KVRows& kv, int layer, const float* q, const int32_t* positions, int64_t rows, int64_t heads,
               int64_t kv_heads, int64_t head_dim, float scale, float* out, Stream s) {
    if (rows == 0) return;
    if (kv.f16) launch_attention<true>(kv, layer, q, positions, rows, heads, kv_heads, head_dim, scale, out, s);
    else launch_attention<false>(kv, layer, q, positions, rows, heads, kv_heads, head_dim, scale, out, s);
}

}  // namespace apr::cuda
