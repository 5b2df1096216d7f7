// Decode-batch products of Q4_K / Q6_K weights on int8 tensor cores, straight
// from the stored blocks (see kernels.hpp, mmq()). The activations come in
// as Q8_K rows (quantize_activations / rmsnorm_quantize), so every product
// is exact in integers up to the per-block float scaling.
//
// The scheme, per launch:
// - A block of 4 warps owns BR = WM * 16 weight rows (SwiGLU: BR gate rows
//   and the same BR up rows) and BT = WN * NTW * 8 activation rows; warp
//   (wm, wn) computes 16 weight rows x NTW * 8 activation rows of it.
// - Per 256-value super-block: the block's weight rows are copied into
//   shared memory as stored (cp.async, 16 bytes a copy, kStages super-blocks
//   in flight); each warp then builds its mma fragments in registers from
//   that copy (Q4_K: nibbles 0..15 and the 6-bit scales and mins; Q6_K:
//   q - 32 and the int8 scales), one barrier a super-block. Each weight byte
//   is read from DRAM once per launch per BT activation rows (one tile of
//   them for up to 32 rows). An unpacked int8 copy in shared memory, built
//   once for the block's warps, cost a second barrier and a shared-memory
//   round trip each super-block: 7,954 against 9,016 tok/s at 32 sequences
//   (H200, docs/performance.md).
// - mma.sync m16n8k32 (Q4_K: one k-step = one 32-value sub-block) or
//   m16n8k16 (Q6_K: one 16-value group) with int32 sums; the sub-block's
//   scale multiplies its int32 result (exact), and for Q4_K a second mma
//   with the sub-block's 6-bit min repeated along k gives the min term
//   sum_j m_j * sum(a over sub-block j), exact too. Per super-block then
//   acc += d * da * S - dmin * da * M (Q6_K: d * da * S) in f32.
// - Products with few row tiles (the 1,536-output ones: q, k, v, o, down)
//   split k into parts (blockIdx.z) so the card has enough blocks: each
//   part writes its sums to a scratch, and the last of a tile's parts to
//   finish (a ticket counter per tile) adds them in part order and writes
//   the outputs. The parts of a weight follow from its shape alone (rows,
//   super-blocks, the card's multiprocessors), never from the batch.
// - The k order inside one mma is a permutation of the sub-block's values
//   (lane t reads bytes 8t..8t+7 of both the weight and the activation), the
//   same for both operands, so the integer dot product is unchanged.
//
// Numerics: every output (weight row o, activation row r) is computed by
// the same operations in the same order whatever the tile shape, the row
// count and the rows beside r (integer sums are exact; the f32 steps run
// over super-blocks in order), so a batch row's results equal that row's
// alone through this kernel, bit for bit. Against matvec (the 1..8-row
// kernel) and matmul_quantized they differ only by f32 summation order.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

#include "cuda/blocks.cuh"
#include "cuda/cp_async.cuh"
#include "cuda/kernels.hpp"
#include "cuda/pdl.cuh"

namespace apr::cuda {
namespace {

constexpr int kThreads = 128;
constexpr int kMaxJobs = 3;
constexpr int kMaxParts = 16;  // a split product's most parts (split_parts)

enum : int { kQ4K = 0, kQ6K = 1 };

struct MqJob {
    const uint8_t* w;
    const float* bias;
    float* y;
    int n;
    int tile0;  // first row tile (blockIdx.x) of this job
    int parts;  // k split into this many parts (1: none)
    size_t part_at;  // its partial sums' offset in MqArgs::partial (floats)
};

struct MqArgs {
    MqJob j[kMaxJobs];
    int count;
    int nb;    // super-blocks per row
    int rows;  // activation rows
    const uint8_t* act;
    const uint8_t* up;  // SwiGLU: up's weight (gate is job 0)
    bool accumulate;
    float* partial;     // split jobs: parts x rows x n sums each (at part_at)
    unsigned* tickets;  // split jobs: a counter per (row tile, activation tile), left zero
};

__device__ __forceinline__ MqJob job_of(const MqArgs& a, int j) {
    MqJob r = a.j[0];
    if (j == 1) r = a.j[1];
    if (j == 2) r = a.j[2];
    return r;
}

__device__ __forceinline__ void mma_k32(const uint32_t (&a)[4], uint32_t b0, uint32_t b1, int (&c)[4]) {
    asm volatile(
        "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
        : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
__device__ __forceinline__ void mma_k16(uint32_t a0, uint32_t a1, uint32_t b, int (&c)[4]) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5}, {%6}, {%0,%1,%2,%3};"
                 : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
                 : "r"(a0), "r"(a1), "r"(b));
}

template <int Type>
struct Layout {
    static constexpr int block_bytes = Type == kQ4K ? kQ4_KBytes : kQ6_KBytes;
    // 16-byte pieces copied per row and super-block: Q4_K's 144-byte blocks
    // sit at 16-byte boundaries; a Q6_K block (210 bytes at a 2-byte
    // boundary) is copied from the 16-byte boundary below it, 15 pieces
    // covering it wherever it starts.
    static constexpr int pieces = Type == kQ4K ? 9 : 15;
    // Shared bytes per row: Q4_K's 160 put the 8-byte fragment reads of a
    // half-warp (rows g = 0..3, lanes t = 0..3) on distinct banks; Q6_K's 240
    // put rows 0..7 four banks apart.
    static constexpr int stride = Type == kQ4K ? 160 : 240;
};

// Super-blocks of weights in flight: a block waits for super-block b while
// b + 1 .. b + kStages - 1 are on their way.
constexpr int kStages = 3;

// Shared memory of a block with R weight rows.
template <int Type>
constexpr size_t smem_bytes(int R) {
    return static_cast<size_t>(kStages) * R * Layout<Type>::stride;
}

// Where accumulator e of n-tile j sits: lane (g, t) of warp row wm holds
// weight rows o0 + wm*16 + g (+8 for e >= 2) x activation rows tb + 8j + 2t
// (+1 for odd e).
struct FragAt {
    int o, tok;
};
__device__ __forceinline__ FragAt frag_at(int o0, int tb, int wm, int g, int t, int j, int e) {
    return {o0 + wm * 16 + g + (e < 2 ? 0 : 8), tb + 8 * j + 2 * t + (e & 1)};
}

// A split job's part is done: its sums (frag_at) go to the scratch; the tile's
// last part to arrive adds every part's sums in part order (the same
// additions whichever block it is) and writes the outputs.
template <int BR, int BT, int NTW>
__device__ __forceinline__ void split_finish(const MqArgs& a, const MqJob& job, const float (&acc)[NTW][4], int o0,
                                             int tb, int part, int wm, int g, int t) {
    float* mine = a.partial + job.part_at + static_cast<size_t>(part) * a.rows * job.n;
#pragma unroll
    for (int j = 0; j < NTW; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            const auto [o, tok] = frag_at(o0, tb, wm, g, t, j, e);
            if (o < job.n && tok < a.rows) mine[static_cast<size_t>(tok) * job.n + o] = acc[j][e];
        }
    __threadfence();  // the sums visible to the block that adds them
    __syncthreads();
    __shared__ bool last;
    unsigned* ticket = a.tickets + blockIdx.x * gridDim.y + blockIdx.y;
    if (threadIdx.x == 0) last = atomicAdd(ticket, 1u) == static_cast<unsigned>(job.parts - 1);
    __syncthreads();
    if (!last) return;
    __threadfence();
    const int tok0 = static_cast<int>(blockIdx.y) * BT;
    for (int i = static_cast<int>(threadIdx.x); i < BR * BT; i += kThreads) {
        const int o = o0 + i % BR, tok = tok0 + i / BR;
        if (o >= job.n || tok >= a.rows) continue;
        const size_t at = job.part_at + static_cast<size_t>(tok) * job.n + o, stride = static_cast<size_t>(a.rows) * job.n;
        // Every part's sum is loaded before any is added (one trip to L2,
        // not one per part: the adding block is the tile's critical path).
        float p[kMaxParts];
#pragma unroll
        for (int z = 0; z < kMaxParts; ++z) p[z] = z < job.parts ? __ldcg(a.partial + at + z * stride) : 0.0f;
        float v = 0.0f;
#pragma unroll
        for (int z = 0; z < kMaxParts; ++z)
            if (z < job.parts) v = __fadd_rn(v, p[z]);
        if (job.bias != nullptr) v = __fadd_rn(v, job.bias[o]);
        float* y = job.y + static_cast<size_t>(tok) * job.n + o;
        *y = a.accumulate ? __fadd_rn(*y, v) : v;
    }
    if (threadIdx.x == 0) *ticket = 0u;  // ready for the next launch
}

// The sums of one m-tile (16 weight rows, NTW n-tiles) over super-block b,
// from the block's raw copy of it; rows r_lo and r_hi = r_lo + 8 start at
// p_lo and p_hi. S: sum over sub-blocks of scale x integer dot product; M
// (Q4_K): sum of min x activation sum, both exact.
template <int NTW>
__device__ __forceinline__ void q4k_tile(const uint8_t* p_lo, const uint8_t* p_hi, int t, const uint32_t (&bq)[NTW][16],
                                         int (&S)[NTW][4], int (&M)[NTW][4], float& d_lo, float& d_hi, float& m_lo,
                                         float& m_hi) {
    const uint4 h_lo = *reinterpret_cast<const uint4*>(p_lo), h_hi = *reinterpret_cast<const uint4*>(p_hi);
    d_lo = half_bits_to_float(static_cast<uint16_t>(h_lo.x & 0xffffu));
    d_hi = half_bits_to_float(static_cast<uint16_t>(h_hi.x & 0xffffu));
    m_lo = half_bits_to_float(static_cast<uint16_t>(h_lo.x >> 16));
    m_hi = half_bits_to_float(static_cast<uint16_t>(h_hi.x >> 16));
    // k4_scale_min for all eight sub-blocks at once, a byte each: scales
    // 0-3 / 4-7 and mins 0-3 / 4-7 from the 12 scale bytes (words y, z, w).
    const uint32_t sc_lo[2] = {h_lo.y & 0x3F3F3F3Fu, (h_lo.w & 0x0F0F0F0Fu) | ((h_lo.y >> 2) & 0x30303030u)};
    const uint32_t sc_hi[2] = {h_hi.y & 0x3F3F3F3Fu, (h_hi.w & 0x0F0F0F0Fu) | ((h_hi.y >> 2) & 0x30303030u)};
    const uint32_t mn_lo[2] = {h_lo.z & 0x3F3F3F3Fu, ((h_lo.w >> 4) & 0x0F0F0F0Fu) | ((h_lo.z >> 2) & 0x30303030u)};
    const uint32_t mn_hi[2] = {h_hi.z & 0x3F3F3F3Fu, ((h_hi.w >> 4) & 0x0F0F0F0Fu) | ((h_hi.z >> 2) & 0x30303030u)};
#pragma unroll
    for (int c = 0; c < 4; ++c) {
        // Nibble bytes 32c + 8t .. 32c + 8t + 7: their low nibbles are
        // values 8t.. of sub-block 2c, their high nibbles of sub-block 2c + 1.
        const uint2 q_lo = *reinterpret_cast<const uint2*>(p_lo + 16 + 32 * c + 8 * t);
        const uint2 q_hi = *reinterpret_cast<const uint2*>(p_hi + 16 + 32 * c + 8 * t);
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            const int s = 2 * c + h;
            const unsigned sh = 4u * h;
            const uint32_t af[4] = {(q_lo.x >> sh) & 0x0F0F0F0Fu, (q_hi.x >> sh) & 0x0F0F0F0Fu, (q_lo.y >> sh) & 0x0F0F0F0Fu,
                                    (q_hi.y >> sh) & 0x0F0F0F0Fu};
            const int sl = byte_of(sc_lo[s / 4], s % 4), shi = byte_of(sc_hi[s / 4], s % 4);
            const uint32_t ml = static_cast<uint32_t>(byte_of(mn_lo[s / 4], s % 4)) * 0x01010101u;
            const uint32_t mh = static_cast<uint32_t>(byte_of(mn_hi[s / 4], s % 4)) * 0x01010101u;
            const uint32_t am[4] = {ml, mh, ml, mh};
#pragma unroll
            for (int j = 0; j < NTW; ++j) {
                int cc[4] = {0, 0, 0, 0};
                mma_k32(af, bq[j][2 * s], bq[j][2 * s + 1], cc);
                mma_k32(am, bq[j][2 * s], bq[j][2 * s + 1], M[j]);
                S[j][0] += sl * cc[0];
                S[j][1] += sl * cc[1];
                S[j][2] += shi * cc[2];
                S[j][3] += shi * cc[3];
            }
        }
    }
}

// Q6_K: rows at p_lo, p_hi (2-byte aligned). Group s (16 values, one
// scale) is values 128n + 32q + l with n = s / 8, q = (s % 8) / 2, l = 16
// (s % 2) + 0..15; lane t takes l = 16 (s % 2) + 4t .. + 3: ql bytes 64n +
// 32 (q & 1) + l (low nibbles for q < 2), qh bytes 128 + 32n + l bits 2q.
template <int NTW>
__device__ __forceinline__ void q6k_tile(const uint8_t* p_lo, const uint8_t* p_hi, int t, const uint32_t (&bq)[NTW][16],
                                         int (&S)[NTW][4], float& d_lo, float& d_hi) {
    d_lo = half_bits_to_float(ld_u16(p_lo + 208));
    d_hi = half_bits_to_float(ld_u16(p_hi + 208));
    uint32_t sc_lo[4], sc_hi[4];
#pragma unroll
    for (int w = 0; w < 4; ++w) {
        sc_lo[w] = static_cast<uint32_t>(ld_i32_a2(p_lo + 192 + 4 * w));
        sc_hi[w] = static_cast<uint32_t>(ld_i32_a2(p_hi + 192 + 4 * w));
    }
#pragma unroll
    for (int n = 0; n < 2; ++n)
#pragma unroll
        for (int s2 = 0; s2 < 2; ++s2) {
            const int l = 16 * s2 + 4 * t;
            const uint32_t qh_lo = static_cast<uint32_t>(ld_i32_a2(p_lo + 128 + 32 * n + l));
            const uint32_t qh_hi = static_cast<uint32_t>(ld_i32_a2(p_hi + 128 + 32 * n + l));
#pragma unroll
            for (int odd = 0; odd < 2; ++odd) {
                const uint32_t ql_lo = static_cast<uint32_t>(ld_i32_a2(p_lo + 64 * n + 32 * odd + l));
                const uint32_t ql_hi = static_cast<uint32_t>(ld_i32_a2(p_hi + 64 * n + 32 * odd + l));
#pragma unroll
                for (int q = odd; q < 4; q += 2) {
                    const int s = 8 * n + 2 * q + s2;
                    const unsigned lsh = q < 2 ? 0u : 4u;
                    const int lo = centered_bytes<32>(((ql_lo >> lsh) & 0x0F0F0F0Fu) | (((qh_lo >> (2 * q)) & 0x03030303u) << 4));
                    const int hi = centered_bytes<32>(((ql_hi >> lsh) & 0x0F0F0F0Fu) | (((qh_hi >> (2 * q)) & 0x03030303u) << 4));
                    const int sl = sbyte_of(sc_lo[s / 4], s % 4), shi = sbyte_of(sc_hi[s / 4], s % 4);
#pragma unroll
                    for (int j = 0; j < NTW; ++j) {
                        int cc[4] = {0, 0, 0, 0};
                        mma_k16(static_cast<uint32_t>(lo), static_cast<uint32_t>(hi), bq[j][s], cc);
                        S[j][0] += sl * cc[0];
                        S[j][1] += sl * cc[1];
                        S[j][2] += shi * cc[2];
                        S[j][3] += shi * cc[3];
                    }
                }
            }
        }
}

// WM x WN warps; NTW n-tiles (8 activation rows each) per warp.
template <int Type, int WM, int WN, int NTW, bool Swiglu>
__global__ void __launch_bounds__(kThreads, Swiglu ? 3 : 4) mmq_kernel(MqArgs a) {
    static_assert(WM * WN * 32 == kThreads, "four warps");
    using L = Layout<Type>;
    constexpr int MT = Swiglu ? 2 : 1;  // m-tiles per warp (gate, up)
    constexpr int BR = WM * 16;
    constexpr int R = BR * MT;  // weight rows in shared memory
    constexpr int BT = WN * NTW * 8;
    constexpr int kItems = (R * L::pieces + kThreads - 1) / kThreads;  // a thread's 16-byte copies per super-block
    extern __shared__ __align__(16) uint8_t smem[];  // kStages x R x stride: raw weight rows

    const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
    const int g = lane / 4, t = lane % 4;
    const int wm = warp % WM, wn = warp / WM;
    int ji = 0;
    if (a.count > 1 && static_cast<int>(blockIdx.x) >= a.j[1].tile0) ji = 1;
    if (a.count > 2 && static_cast<int>(blockIdx.x) >= a.j[2].tile0) ji = 2;
    const MqJob job = job_of(a, ji);
    const int part = static_cast<int>(blockIdx.z);
    if (part >= job.parts) {  // the launch's parts are its jobs' most
        pdl_wait();  // no block leaves before the kernel before it is done (pdl.cuh)
        return;
    }
    const int o0 = (static_cast<int>(blockIdx.x) - job.tile0) * BR;
    const int tb = static_cast<int>(blockIdx.y) * BT + wn * NTW * 8;  // this warp's first activation row
    const uint32_t row_bytes = static_cast<uint32_t>(a.nb) * L::block_bytes;
    const uint32_t tensor_bytes = static_cast<uint32_t>(job.n) * row_bytes;  // < 2^31 (mmq_supported)
    const int nb = a.nb;
    const int b_first = part * nb / job.parts, b_end = (part + 1) * nb / job.parts;  // this part's super-blocks

    // Shared row i's weight row: its offset from its tensor's start (rows
    // past n repeat the last).
    auto row_offset = [&](int i) -> uint32_t { return static_cast<uint32_t>(min(o0 + i % BR, job.n - 1)) * row_bytes; };
    auto base_of = [&](int i) -> const uint8_t* { return Swiglu && i >= BR ? a.up : job.w; };
    // This thread's copies, the same items every super-block: item m is
    // piece (tid + 128m) % pieces of row (tid + 128m) / pieces.
    uint32_t src_row[kItems];
#pragma unroll
    for (int m = 0; m < kItems; ++m) {
        const int it = tid + kThreads * m;
        src_row[m] = it < R * L::pieces ? row_offset(it / L::pieces) : 0u;
    }
    auto issue = [&](int b, int stage) {
        uint8_t* dst = smem + stage * R * L::stride;
#pragma unroll
        for (int m = 0; m < kItems; ++m) {
            const int it = tid + kThreads * m;
            if (it >= R * L::pieces) break;
            const int r = it / L::pieces, piece = it % L::pieces;
            const uint8_t* base = base_of(r);
            if constexpr (Type == kQ4K) {
                cp_async16(dst + r * L::stride + 16 * piece, base + src_row[m] + static_cast<uint32_t>(b) * L::block_bytes + 16 * piece);
            } else {
                // From the 16-byte boundary at or below the block; nothing
                // read past the tensor's end (the last row's last block).
                const uint32_t at = ((src_row[m] + static_cast<uint32_t>(b) * L::block_bytes) & ~15u) + 16u * piece;
                const int bytes = at >= tensor_bytes ? 0 : static_cast<int>(min(16u, tensor_bytes - at));
                cp_async16(dst + r * L::stride + 16 * piece, base + (bytes > 0 ? at : 0u), bytes);
            }
        }
    };

    float acc[MT][NTW][4];
#pragma unroll
    for (int m = 0; m < MT; ++m)
#pragma unroll
        for (int j = 0; j < NTW; ++j)
#pragma unroll
            for (int e = 0; e < 4; ++e) acc[m][j][e] = 0.0f;

#pragma unroll
    for (int s = 0; s < kStages - 1; ++s) {
        if (b_first + s < b_end) issue(b_first + s, s);
        cp_async_commit();  // one group per super-block, empty past the end
    }
    // The weights above were asked for before the activations' kernel is
    // done (pdl.cuh); everything below reads its results.
    pdl_wait();
    pdl_release();
    for (int b = b_first; b < b_end; ++b) {
        const int i = b - b_first;
        // This warp's activation fragments of super-block b (token tb + 8j + g),
        // loaded while the weights arrive.
        uint32_t bq[NTW][16];
        float da[NTW][2];
#pragma unroll
        for (int j = 0; j < NTW; ++j) {
            const int tok = tb + 8 * j + g;
            const uint8_t* q = a.act + (static_cast<size_t>(min(tok, a.rows - 1)) * nb + b) * kQ8_KBytes + kQ8_KQsAt;
#pragma unroll
            for (int k = 0; k < 16; ++k) {
                // Q4_K: sub-block k/2, bytes 8t..8t+7 (two words); Q6_K: group k, bytes 4t..4t+3.
                const int at = Type == kQ4K ? 32 * (k / 2) + 8 * t + 4 * (k % 2) : 16 * k + 4 * t;
                const uint32_t v = *reinterpret_cast<const uint32_t*>(q + at);
                bq[j][k] = tok < a.rows ? v : 0u;
            }
#pragma unroll
            for (int e = 0; e < 2; ++e) {
                const int tk = tb + 8 * j + 2 * t + e;
                da[j][e] = tk < a.rows
                               ? *reinterpret_cast<const float*>(a.act + (static_cast<size_t>(tk) * nb + b) * kQ8_KBytes)
                               : 0.0f;
            }
        }
        cp_async_wait<kStages - 2>();  // super-block b's group is complete
        __syncthreads();  // ... for every thread's pieces; and every warp is done with the stage refilled next
        if (b + kStages - 1 < b_end) issue(b + kStages - 1, (i + kStages - 1) % kStages);
        cp_async_commit();
        const uint8_t* stage = smem + (i % kStages) * R * L::stride;

#pragma unroll
        for (int m = 0; m < MT; ++m) {
            const int r_lo = m * BR + wm * 16 + g, r_hi = r_lo + 8;
            const uint8_t* p_lo = stage + r_lo * L::stride;
            const uint8_t* p_hi = stage + r_hi * L::stride;
            if constexpr (Type == kQ6K) {
                // Each row's block sits where its 16-byte boundary left it.
                p_lo += (row_offset(r_lo) + static_cast<uint32_t>(b) * L::block_bytes) & 15u;
                p_hi += (row_offset(r_hi) + static_cast<uint32_t>(b) * L::block_bytes) & 15u;
            }
            int S[NTW][4], M[NTW][4];
#pragma unroll
            for (int j = 0; j < NTW; ++j)
#pragma unroll
                for (int e = 0; e < 4; ++e) S[j][e] = M[j][e] = 0;
            float d_lo, d_hi, m_lo = 0.0f, m_hi = 0.0f;
            if constexpr (Type == kQ4K) q4k_tile<NTW>(p_lo, p_hi, t, bq, S, M, d_lo, d_hi, m_lo, m_hi);
            else q6k_tile<NTW>(p_lo, p_hi, t, bq, S, d_lo, d_hi);
#pragma unroll
            for (int j = 0; j < NTW; ++j)
#pragma unroll
                for (int e = 0; e < 4; ++e) {
                    const float d = e < 2 ? d_lo : d_hi, x = da[j][e & 1];
                    float v = __fmul_rn(__fmul_rn(d, x), static_cast<float>(S[j][e]));
                    if constexpr (Type == kQ4K)
                        v = __fsub_rn(v, __fmul_rn(__fmul_rn(e < 2 ? m_lo : m_hi, x), static_cast<float>(M[j][e])));
                    acc[m][j][e] = __fadd_rn(acc[m][j][e], v);
                }
        }
    }
    cp_async_wait<0>();  // no copy outlives the block (the groups past the end are empty)

    if (job.parts > 1) {
        if constexpr (!Swiglu) split_finish<BR, BT>(a, job, acc[0], o0, tb, part, wm, g, t);
        return;
    }
#pragma unroll
    for (int j = 0; j < NTW; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            const auto [o, tok] = frag_at(o0, tb, wm, g, t, j, e);
            if (o >= job.n || tok >= a.rows) continue;
            float* y = job.y + static_cast<size_t>(tok) * job.n + o;
            if constexpr (Swiglu) {
                const float gv = acc[0][j][e];
                *y = __fmul_rn(gv / (1.0f + expf(-gv)), acc[MT - 1][j][e]);
            } else {
                const float v = job.bias != nullptr ? __fadd_rn(acc[0][j][e], job.bias[o]) : acc[0][j][e];
                *y = a.accumulate ? __fadd_rn(*y, v) : v;
            }
        }
}

template <int Type, int WM, int WN, int NTW, bool Swiglu>
void launch_one(const MqArgs& a, int tiles, int parts, Stream s) {
    constexpr int R = WM * 16 * (Swiglu ? 2 : 1);
    constexpr int BT = WN * NTW * 8;
    const size_t smem = smem_bytes<Type>(R);
    static const bool attr = [&] {
        cudaFuncSetAttribute(mmq_kernel<Type, WM, WN, NTW, Swiglu>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                             static_cast<int>(smem));
        return true;
    }();
    (void)attr;
    const dim3 grid(static_cast<unsigned>(tiles), static_cast<unsigned>((a.rows + BT - 1) / BT),
                    static_cast<unsigned>(parts));
    launch_pdl(mmq_kernel<Type, WM, WN, NTW, Swiglu>, grid, dim3(kThreads), smem, s, a);
}

// The tile shape by activation rows: few rows, the warps split weight rows
// (64 x 8); more, they split both (32 weight rows x 16 or 32; past 32 rows,
// more tiles of 32: at 64 sequences 9,125 tok/s against 8,295-8,364 with
// one tile of 64, whose SwiGLU kernel took 254 registers, H200).
struct TileShape {
    int br, bt;
};
TileShape tile_shape(int64_t rows, bool swiglu) {
    // SwiGLU unpacks gate and up: 64 x 8 tiles give 8,960 outputs only 140
    // blocks of 128 unpacked rows (about one a multiprocessor); 32 x 16 tiles
    // give 280 (H200, 8 sequences: 2,221 against 2,184 tok/s, 2026-12-03).
    if (rows <= 8) return swiglu ? TileShape{32, 16} : TileShape{64, 8};
    if (rows <= 16) return {32, 16};
    return {32, 32};
}

// The jobs' first row tiles (tile0, blockIdx.x) for tiles of br rows; the
// launch's row tiles in all.
int assign_row_tiles(MqArgs& a, int count, int br) {
    int tiles = 0;
    for (int i = 0; i < count; ++i) {
        a.j[i].tile0 = tiles;
        tiles += (a.j[i].n + br - 1) / br;
    }
    return tiles;
}

template <int Type, bool Swiglu>
void launch_rows(MqArgs& a, int count, int parts, Stream s) {
    const TileShape shape = tile_shape(a.rows, Swiglu);
    const int tiles = assign_row_tiles(a, count, shape.br);
    if (shape.bt == 8) launch_one<Type, 4, 1, 1, Swiglu>(a, tiles, parts, s);
    else if (shape.bt == 16) launch_one<Type, 2, 2, 1, Swiglu>(a, tiles, parts, s);
    else launch_one<Type, 2, 2, 2, Swiglu>(a, tiles, parts, s);
}

int type_code(DType t) { return t == DType::Q4_K ? kQ4K : t == DType::Q6_K ? kQ6K : -1; }

int multiprocessors() {
    static const int sms = [] {
        int dev = 0, n = 0;
        cudaGetDevice(&dev);
        cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev);
        return n > 0 ? n : 1;
    }();
    return sms;
}

// Parts a weight of n rows and nb super-blocks splits k into: about
// APR_CUDA_MMQ_SPLIT (default 4; 0: never split) blocks a multiprocessor
// counting its tiles of 32 rows, at most kMaxParts parts and one super-block each.
// The weight's shape alone decides, so a row's sums never depend on the batch.
int split_parts(int64_t n, int nb) {
    static const int per_sm = [] {
        const char* e = std::getenv("APR_CUDA_MMQ_SPLIT");
        return e == nullptr || *e == '\0' ? 4 : std::clamp(std::atoi(e), 0, 64);
    }();
    if (per_sm == 0) return 1;
    const int64_t tiles = (n + 31) / 32;
    const int64_t want = per_sm * static_cast<int64_t>(multiprocessors()) / std::max<int64_t>(tiles, 1);
    return static_cast<int>(std::clamp<int64_t>(want, 1, std::min(kMaxParts, nb)));
}

// The scratch starts with kTickets counters, the same region for every
// launch (so one launch's partial sums never land on another's tickets,
// which must stay zero between launches); the partial sums follow. A launch
// with more (row tile, activation tile) pairs than that (tens of thousands
// of rows) does not split.
constexpr size_t kTickets = 16384, kTicketBytes = kTickets * sizeof(unsigned);

// How a launch of these jobs splits: each job's parts and partial offset
// (set in a) and the most parts of a job (the grid's depth).
struct SplitPlan {
    int parts = 1;
    size_t partial_floats = 0;
    size_t bytes() const { return parts > 1 ? kTicketBytes + partial_floats * 4 : 0; }
};

SplitPlan plan_split(MqArgs& a, int count) {
    SplitPlan p;
    for (int i = 0; i < count; ++i) {
        a.j[i].parts = split_parts(a.j[i].n, a.nb);
        a.j[i].part_at = p.partial_floats;
        if (a.j[i].parts > 1) p.partial_floats += static_cast<size_t>(a.j[i].parts) * a.rows * a.j[i].n;
        p.parts = std::max(p.parts, a.j[i].parts);
    }
    const TileShape shape = tile_shape(a.rows, false);
    const size_t tiles = static_cast<size_t>(assign_row_tiles(a, count, shape.br));
    if (tiles * static_cast<size_t>((a.rows + shape.bt - 1) / shape.bt) > kTickets) {
        for (int i = 0; i < count; ++i) a.j[i].parts = 1;
        return SplitPlan{};
    }
    return p;
}

MqArgs args_for(const MatmulJob* jobs, int count, int64_t k, const void* act, int64_t rows, bool accumulate) {
    MqArgs a{};
    a.count = count;
    a.nb = static_cast<int>(k / kQKK);
    a.rows = static_cast<int>(rows);
    a.act = static_cast<const uint8_t*>(act);
    a.accumulate = accumulate;
    for (int i = 0; i < count; ++i)
        a.j[i] = {static_cast<const uint8_t*>(jobs[i].w), jobs[i].bias, jobs[i].y, static_cast<int>(jobs[i].n), 0, 1, 0};
    return a;
}

}  // namespace

bool mmq_supported(DType weight, int64_t k, int64_t n) noexcept {
    if (type_code(weight) < 0 || k <= 0 || k % kQKK != 0 || n <= 0) return false;
    const int64_t block = type_code(weight) == kQ4K ? kQ4_KBytes : kQ6_KBytes;
    return (k / kQKK) * block * n < (int64_t{1} << 31);
}

size_t mmq_scratch_bytes(const MatmulJob* jobs, int count, int64_t k, int64_t rows) {
    if (count < 1 || count > kMaxJobs || rows <= 0 || k < kQKK) return 0;
    MqArgs a = args_for(jobs, count, k, nullptr, rows, false);
    return plan_split(a, count).bytes();
}

void mmq(DType weight, const MatmulJob* jobs, int count, int64_t k, const void* act, int64_t rows, bool accumulate,
         Stream s, void* scratch, size_t scratch_bytes) {
    if (count < 1 || count > kMaxJobs) throw std::invalid_argument("apr::cuda::mmq: 1 to 3 jobs");
    // An empty job (n = 0) passes, as it did before the size bound.
    for (int i = 0; i < count; ++i)
        if (!mmq_supported(weight, k, std::max<int64_t>(jobs[i].n, 1)))
            throw std::invalid_argument("apr::cuda::mmq: unsupported weight");
    if (rows <= 0) return;
    MqArgs a = args_for(jobs, count, k, act, rows, accumulate);
    const SplitPlan plan = plan_split(a, count);
    if (plan.bytes() > 0) {
        if (scratch == nullptr || scratch_bytes < plan.bytes())
            throw std::invalid_argument("apr::cuda::mmq: scratch smaller than mmq_scratch_bytes");
        a.tickets = static_cast<unsigned*>(scratch);
        a.partial = reinterpret_cast<float*>(static_cast<uint8_t*>(scratch) + kTicketBytes);
    }
    if (type_code(weight) == kQ4K) launch_rows<kQ4K, false>(a, count, plan.parts, s);
    else launch_rows<kQ6K, false>(a, count, plan.parts, s);
}

void mmq_swiglu(DType weight, const void* gate, const void* up, int64_t n, int64_t k, const void* act, int64_t rows,
                float* out, Stream s) {
    if (!mmq_supported(weight, k, std::max<int64_t>(n, 1)))
        throw std::invalid_argument("apr::cuda::mmq_swiglu: unsupported weight");
    if (rows <= 0 || n <= 0) return;
    const MatmulJob job{gate, n, nullptr, out};
    MqArgs a = args_for(&job, 1, k, act, rows, false);
    a.up = static_cast<const uint8_t*>(up);
    if (type_code(weight) == kQ4K) launch_rows<kQ4K, true>(a, 1, 1, s);
    else launch_rows<kQ6K, true>(a, 1, 1, s);
}

}  // namespace apr::cuda
