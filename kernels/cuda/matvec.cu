// Decode products of up to kMatvecRows activation rows for Q4_K and Q6_K
// weights, built to stream the weights (see kernels.hpp, matvec()). Each
// activation row's sums run in the same order whatever the row count, so a
// batch row's results equal that row's alone, bit for bit.
//
// The scheme, per launch:
// - One wave of 256-thread blocks (at most kBlocksPerSm per multiprocessor);
//   every warp takes "units" in turn: R consecutive rows of one weight (or,
//   for SwiGLU, row o of gate and row o of up), whose super-blocks it reads
//   as one flat list.
// - Lanes read whole 16-byte pieces: Q4_K, 8 lanes per 256-value block, each
//   the block's 16-byte header and one 16-byte slice of its nibbles (32
//   values); Q6_K (210-byte blocks at 2-byte boundaries), 4 lanes per block,
//   each 64 values from aligned 32-bit words shifted into place. A lane
//   issues the loads of up to kChunk such pieces before it multiplies any.
// - The activation is quantized (Q8_K, byte for byte the CPU's quantizer,
//   after the RMSNorm when one is fused) by every block into shared memory,
//   from the f32 input: no separate quantize or norm kernel. Long rows
//   (ffn_down's) come quantized instead (MatvecInput::xq): quantizing 8960
//   values cost each block more than its share of the weights. The first
//   weight loads are issued before that, and before waiting for the
//   previous kernel (programmatic dependent launch: griddepcontrol.wait), so
//   they overlap the previous kernel's tail and the block's own prologue
//   (on a stream that allows it; on by default, APR_CUDA_PDL=0 turns it
//   off: in the recorded decode graph of the 1.5B-shaped model, tg128 868 /
//   870 tok/s against 812 / 812 without, H200, 2026-12-03; it had cost 8%
//   when each block quantized its input before the first loads, 579
//   against 629 tok/s).
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>
#include <string_view>

#include "cuda/blocks.cuh"
#include "cuda/cp_async.cuh"
#include "cuda/kernels.hpp"
#include "cuda/pdl.cuh"
#include "cuda/quantize.cuh"
#include "cuda/reduce.cuh"
#include "cuda/rope.cuh"

namespace apr::cuda {
namespace {

constexpr int kThreads = 256, kWarps = kThreads / 32;
// Shared-memory Q8_K block: d (f32) at 0, 256 int8 values at 16, 16 int16
// sums of 16 values at 272: the values 16-byte aligned for vector reads.
constexpr int kActStride = 304, kActQs = 16, kActSums = 272;
constexpr int kMaxSmem = 200 * 1024;
constexpr int kMaxJobs = 3;
constexpr int kMaxR = 2;  // rows per unit

enum : int { kQ4K = 0, kQ6K = 1 };

struct MvJob {
    const uint8_t* w;
    const float* bias;
    float* y;
    int n;
    int type;
    int r;            // rows per unit
    int unit0;        // first unit of this job
    int role;         // kPlain, or QKV's kRopeQ / kRopeStoreK / kStoreV (matvec_qkv)
};

enum : int { kPlain = 0, kRopeQ = 1, kRopeStoreK = 2, kStoreV = 3 };

// matvec_qkv's epilogue: rope of q and k, k and v into the cache.
struct Epilogue {
    const int32_t* positions;
    const float* inv_freq;
    int hd, half;
    bool neox;
    KVRows kv;
    int layer, kv_dim;
};

struct MvArgs {
    MvJob j[kMaxJobs];
    int count;
    int units;
    int nb;  // 256-value blocks per row
    int rows;  // activation rows (<= the kernel's NT)
    const float* x;  // rows x k
    const uint8_t* xq;  // null, or x as Q8_K rows (quantize_activations)
    const float* norm_w;  // null: x as given
    float eps;
    float* norm_y;
    const uint8_t* up;  // SwiGLU: up's weight (gate is job 0)
    bool accumulate;
    Epilogue ep;
};


// quantize_q8_K_warp's arithmetic (quantize.cuh), written to the shared
// layout above.
__device__ __forceinline__ void quantize_q8_K_shared(const float (&v)[8], int lane, uint8_t* blk) {
    float amax, max;
    warp_first_absmax(v, lane, amax, max);
    auto* qs = reinterpret_cast<uint2*>(blk + kActQs) + lane;
    auto* sums = reinterpret_cast<int16_t*>(blk + kActSums);
    if (amax == 0.0f) {
        *qs = make_uint2(0u, 0u);
        if (lane < 16) sums[lane] = 0;
        if (lane == 0) *reinterpret_cast<float*>(blk) = 0.0f;
        return;
    }
    const float iscale = -127.0f / max;
    int sum = 0;
    uint32_t word[2] = {0u, 0u};
#pragma unroll
    for (int j = 0; j < 8; ++j) {
        const float s = iscale * v[j];
        int q = s == s ? __float2int_rn(s) : 0;
        q = q < 127 ? (q > -128 ? q : -128) : 127;
        word[j / 4] |= (static_cast<uint32_t>(q) & 0xffu) << (8 * (j % 4));
        sum += q;
    }
    *qs = make_uint2(word[0], word[1]);
    sum += __shfl_xor_sync(0xffffffffu, sum, 1);  // groups of 16 = lane pairs
    if (lane % 2 == 0) sums[lane / 2] = static_cast<int16_t>(sum);
    if (lane == 0) *reinterpret_cast<float*>(blk) = 1.0f / iscale;
}

// The block's copy of the activation rows: x (rows x k, k = nb * 256),
// RMS-normalized first when norm_w is set (rmsnorm_quantize_kernel's
// arithmetic; block 0 writes the normalized rows to norm_y), quantized to
// Q8_K; row t's blocks at act + t * nb * kActStride. Each row is first
// copied to `stage` (k floats of shared memory) with kStageLoads loads of a
// thread in flight together; rows handed over quantized (xq) are copied as
// they are.
constexpr int kStageLoads = 12;

// The rows' Q8_K blocks as quantize_activations left them (d, 256 values,
// 16 sums: 73 words of 292 bytes) moved into the shared layout, every
// thread's words loaded before any is stored.
__device__ void copy_quantized_activation(const MvArgs& a, uint8_t* act) {
    constexpr int kWords = kQ8_KBytes / 4, kLoads = 12;
    const int total = a.rows * a.nb * kWords;
    const auto* src = reinterpret_cast<const uint32_t*>(a.xq);
    for (int i0 = threadIdx.x; i0 < total; i0 += kLoads * kThreads) {
        uint32_t v[kLoads];
#pragma unroll
        for (int j = 0; j < kLoads; ++j) {
            const int i = i0 + j * kThreads;
            v[j] = i < total ? src[i] : 0u;
        }
#pragma unroll
        for (int j = 0; j < kLoads; ++j) {
            const int i = i0 + j * kThreads;
            if (i >= total) break;
            const int blk = i / kWords, from = 4 * (i % kWords);  // the word's byte in its block
            const int at = from < kQ8_KQsAt     ? from
                           : from < kQ8_KSumsAt ? kActQs + from - kQ8_KQsAt
                                                : kActSums + from - kQ8_KSumsAt;
            *reinterpret_cast<uint32_t*>(act + static_cast<size_t>(blk) * kActStride + at) = v[j];
        }
    }
}

__device__ void build_activation(const MvArgs& a, uint8_t* act, float* stage) {
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int k = a.nb * kQKK;
    if (a.xq != nullptr) {
        copy_quantized_activation(a, act);
        return;  // the caller's barrier publishes it
    }
    for (int t = 0; t < a.rows; ++t) {
        const float* x = a.x + static_cast<size_t>(t) * k;
        double sum = 0.0;  // in rmsnorm's order: i = thread, thread + 256, ...
        if (t > 0) __syncthreads();  // the last row's quantizers are done with stage
        for (int i0 = threadIdx.x; i0 < k; i0 += kStageLoads * kThreads) {
            float v[kStageLoads];
#pragma unroll
            for (int j = 0; j < kStageLoads; ++j) {
                const int i = i0 + j * kThreads;
                v[j] = i < k ? x[i] : 0.0f;
            }
#pragma unroll
            for (int j = 0; j < kStageLoads; ++j) {
                const int i = i0 + j * kThreads;
                if (i < k) {
                    stage[i] = v[j];
                    if (a.norm_w != nullptr) sum += static_cast<double>(__fmul_rn(v[j], v[j]));
                }
            }
        }
        float scale = 1.0f;
        if (a.norm_w != nullptr) {
            sum = block_sum(sum);  // rmsnorm's sum (reduce.cuh), so its bits; its barriers also publish stage
            const float mean = static_cast<float>(sum / static_cast<double>(k));
            scale = 1.0f / sqrtf(mean + a.eps);
        } else {
            __syncthreads();
        }
        uint8_t* at = act + static_cast<size_t>(t) * a.nb * kActStride;
        for (int b = warp; b < a.nb; b += kWarps) {
            float v[8];
#pragma unroll
            for (int j = 0; j < 8; ++j) {
                const int i = b * kQKK + lane * 8 + j;
                v[j] = a.norm_w != nullptr ? __fmul_rn(__fmul_rn(stage[i], scale), a.norm_w[i]) : stage[i];
                if (a.norm_w != nullptr && a.norm_y != nullptr && blockIdx.x == 0)
                    a.norm_y[static_cast<size_t>(t) * k + i] = v[j];
            }
            quantize_q8_K_shared(v, lane, at + b * kActStride);
        }
    }
}

__device__ __forceinline__ int4 ld_s16(const uint8_t* p) { return *reinterpret_cast<const int4*>(p); }

// ---- Q4_K: 8 lanes per block; lane t takes nibble bytes 16t..16t+15 ----
constexpr int kQ4Lanes = 8;
struct Q4Piece {
    int4 hdr, qs;
};

__device__ __forceinline__ void q4_load(const uint8_t* blk, int t, Q4Piece& p) {
    p.hdr = ld_s16(blk);
    p.qs = ld_s16(blk + 16 + 16 * t);
}

__device__ __forceinline__ float q4_dot(const Q4Piece& p, int t, const uint8_t* a) {
    const int pr = t / 2, h = t % 2;
    const uint8_t* aq = a + kActQs + 64 * pr + 16 * h;
    const int4 lo = *reinterpret_cast<const int4*>(aq), hi = *reinterpret_cast<const int4*>(aq + 32);
    int dl = 0, dh = 0;
    dl = __dp4a(p.qs.x & 0x0F0F0F0F, lo.x, dl);
    dl = __dp4a(p.qs.y & 0x0F0F0F0F, lo.y, dl);
    dl = __dp4a(p.qs.z & 0x0F0F0F0F, lo.z, dl);
    dl = __dp4a(p.qs.w & 0x0F0F0F0F, lo.w, dl);
    dh = __dp4a((p.qs.x >> 4) & 0x0F0F0F0F, hi.x, dh);
    dh = __dp4a((p.qs.y >> 4) & 0x0F0F0F0F, hi.y, dh);
    dh = __dp4a((p.qs.z >> 4) & 0x0F0F0F0F, hi.z, dh);
    dh = __dp4a((p.qs.w >> 4) & 0x0F0F0F0F, hi.w, dh);
    // Scales and mins of sub-blocks j0 = 2pr and j1 = 2pr + 1 (k4_scale_min),
    // both bytes of a pair at once and without a branch (lanes of one warp
    // take both forms): bytes j0, j1 of the three scale words are their low
    // 16 bits after the shift.
    const unsigned sh = 16u * static_cast<unsigned>(pr & 1);
    const uint32_t A = static_cast<uint32_t>(p.hdr.y) >> sh, B = static_cast<uint32_t>(p.hdr.z) >> sh,
                   C = static_cast<uint32_t>(p.hdr.w) >> sh;
    const uint32_t scs = pr < 2 ? (A & 0x3F3Fu) : ((C & 0x0F0Fu) | ((A >> 2) & 0x3030u));
    const uint32_t mns = pr < 2 ? (B & 0x3F3Fu) : (((C >> 4) & 0x0F0Fu) | ((B >> 2) & 0x3030u));
    const int sc0 = static_cast<int>(scs & 0xFFu), sc1 = static_cast<int>(scs >> 8);
    const int m0 = static_cast<int>(mns & 0xFFu), m1 = static_cast<int>(mns >> 8);
    const auto* bs = reinterpret_cast<const int16_t*>(a + kActSums);
    const float da = *reinterpret_cast<const float*>(a);
    const float d = half_bits_to_float(static_cast<uint16_t>(p.hdr.x & 0xffff));
    const float dmin = half_bits_to_float(static_cast<uint16_t>(static_cast<uint32_t>(p.hdr.x) >> 16));
    const int isum = sc0 * dl + sc1 * dh;
    const int msum = m0 * bs[4 * pr + h] + m1 * bs[4 * pr + 2 + h];
    return __fsub_rn(__fmul_rn(__fmul_rn(d, da), static_cast<float>(isum)),
                     __fmul_rn(__fmul_rn(dmin, da), static_cast<float>(msum)));
}

// ---- Q6_K: 4 lanes per block; lane t = 2n + s takes half n, positions
// l = 16s..16s+15 of its 32: ql bytes 64n + l and 64n + 32 + l, qh bytes
// 32n + l, values 128n + 32q + l for q = 0..3 ----
constexpr int kQ6Lanes = 4;
struct Q6Piece {
    uint32_t l0[4], l1[4], h[4];
    uint32_t sc;  // scales 8n + s + 2q, q = 0..3, one a byte
    uint32_t d;   // the block's f16 scale, low 16 bits
};

// 16 bytes at p (2-byte aligned): aligned words shifted into place.
__device__ __forceinline__ void ld16_a2(const uint8_t* p, uint32_t (&o)[4]) {
    const uintptr_t at = reinterpret_cast<uintptr_t>(p);
    const auto* w = reinterpret_cast<const uint32_t*>(at & ~uintptr_t{3});
    const unsigned sh = static_cast<unsigned>(at & 3) * 8;
    uint32_t v[5];
#pragma unroll
    for (int i = 0; i < 4; ++i) v[i] = w[i];
    v[4] = sh != 0 ? w[4] : 0u;  // never past the 16 bytes when aligned
#pragma unroll
    for (int i = 0; i < 4; ++i) o[i] = __funnelshift_r(v[i], v[i + 1], sh);
}

__device__ __forceinline__ void q6_load(const uint8_t* blk, int t, Q6Piece& p) {
    const int n = t / 2, s = t % 2;
    ld16_a2(blk + 64 * n + 16 * s, p.l0);
    ld16_a2(blk + 64 * n + 32 + 16 * s, p.l1);
    ld16_a2(blk + 128 + 32 * n + 16 * s, p.h);
    // Scale bytes 8n .. 8n+7 (of which s, s+2, s+4, s+6 are ours) and d.
    const uintptr_t at = reinterpret_cast<uintptr_t>(blk + 192 + 8 * n);
    const auto* w = reinterpret_cast<const uint32_t*>(at & ~uintptr_t{3});
    const unsigned sh = static_cast<unsigned>(at & 3) * 8;
    const uint32_t w0 = w[0], w1 = w[1], w2 = sh != 0 ? w[2] : 0u;
    const uint32_t lo = __funnelshift_r(w0, w1, sh), hi = __funnelshift_r(w1, w2, sh);
    // bytes s, s+2 of lo and of hi
    p.sc = ((lo >> (8 * s)) & 0xffu) | (((lo >> (8 * s + 16)) & 0xffu) << 8) | (((hi >> (8 * s)) & 0xffu) << 16) |
           (((hi >> (8 * s + 16)) & 0xffu) << 24);
    p.d = ld_u16(blk + 208);
}

__device__ __forceinline__ float q6_dot(const Q6Piece& p, int t, const uint8_t* a) {
    const int n = t / 2, s = t % 2;
    const uint8_t* aq = a + kActQs + 128 * n + 16 * s;
    int isum = 0;
#pragma unroll
    for (int q = 0; q < 4; ++q) {
        const int4 av = *reinterpret_cast<const int4*>(aq + 32 * q);
        const int ai[4] = {av.x, av.y, av.z, av.w};
        int dq = 0;
#pragma unroll
        for (int c = 0; c < 4; ++c) {
            const uint32_t l = q % 2 == 0 ? p.l0[c] : p.l1[c];
            const uint32_t lq = q < 2 ? (l & 0x0F0F0F0Fu) : ((l >> 4) & 0x0F0F0F0Fu);
            const uint32_t hq = ((p.h[c] >> (2 * q)) & 0x03030303u) << 4;
            dq = __dp4a(centered_bytes<32>(lq | hq), ai[c], dq);
        }
        isum += sbyte_of(p.sc, q) * dq;
    }
    const float da = *reinterpret_cast<const float*>(a);
    return __fmul_rn(__fmul_rn(half_bits_to_float(static_cast<uint16_t>(p.d)), da), static_cast<float>(isum));
}

// Job j of the launch, by selects (a dynamic index into the kernel's
// parameters would copy them to local memory).
__device__ __forceinline__ MvJob job_of(const MvArgs& a, int j) {
    MvJob r = a.j[0];
    if (j == 1) r = a.j[1];
    if (j == 2) r = a.j[2];
    return r;
}

// One unit's rows: the weight rows' addresses and how many are real.
struct Unit {
    const uint8_t* row[kMaxR];
    int rows;
    int job;
    int row0;
    int step;  // rows row0, row0 + step, ...
};

template <bool Swiglu>
__device__ __forceinline__ Unit unit_at(const MvArgs& a, int u, size_t row_bytes) {
    Unit x{};
    int j = 0;
    if constexpr (!Swiglu) {
        if (a.count > 1 && u >= a.j[1].unit0) j = 1;
        if (a.count > 2 && u >= a.j[2].unit0) j = 2;
    }
    const MvJob job = job_of(a, j);
    x.job = j;
    if constexpr (Swiglu) {
        x.row0 = u;
        x.rows = 2;
        x.row[0] = job.w + static_cast<size_t>(u) * row_bytes;
        x.row[1] = a.up + static_cast<size_t>(u) * row_bytes;
    } else {
        const int w = u - job.unit0;
        if ((job.role == kRopeQ || job.role == kRopeStoreK) && a.ep.neox) {
            // The rope pair (i, i + half) of a head.
            x.row0 = (w / a.ep.half) * a.ep.hd + w % a.ep.half;
            x.step = a.ep.half;
            x.rows = 2;
        } else {
            x.row0 = w * job.r;
            x.step = 1;
            x.rows = min(job.r, job.n - x.row0);
        }
#pragma unroll
        for (int r = 0; r < kMaxR; ++r)
            x.row[r] = job.w + static_cast<size_t>(x.row0 + min(r, x.rows - 1) * x.step) * row_bytes;
    }
    return x;
}

// The lanes' pieces of iterations [it0, it0 + Chunk) of a unit: slot
// s = it * (32 / Lanes) + lane / Lanes of the unit's rows * nb blocks (row
// r = s / nb, block s % nb: a unit has at most two rows, so no division);
// slot[c] keeps (r << 16) | block, or -1 past the unit's end.
template <int Lanes, int Chunk, class Piece, class Load>
__device__ __forceinline__ void load_chunk(const Unit& u, int nb, int it0, int lane, Piece (&pc)[Chunk],
                                           int (&slot)[Chunk], Load load) {
    static_assert(kMaxR == 2, "slots hold one of two rows");
    constexpr int per_it = 32 / Lanes;
#pragma unroll
    for (int c = 0; c < Chunk; ++c) {
        const int s = (it0 + c) * per_it + lane / Lanes;
        const int r = s >= nb ? 1 : 0;
        const int b = s - (r != 0 ? nb : 0);
        slot[c] = s < u.rows * nb ? (r << 16) | b : -1;
        if (slot[c] >= 0) {
            const uint8_t* row = r == 0 ? u.row[0] : u.row[kMaxR - 1];
            load(row + static_cast<size_t>(b) * (Lanes == kQ4Lanes ? kQ4_KBytes : kQ6_KBytes), lane % Lanes, pc[c]);
        }
    }
}

template <int NT, int Lanes, int Chunk, class Piece, class Dot>
__device__ __forceinline__ void dot_chunk(int nb, int rows, const uint8_t* act, int lane, const Piece (&pc)[Chunk],
                                          const int (&slot)[Chunk], float (&acc)[kMaxR][NT], Dot dot) {
#pragma unroll
    for (int c = 0; c < Chunk; ++c) {
        if (slot[c] < 0) continue;
        const int r = slot[c] >> 16, b = slot[c] & 0xffff;
#pragma unroll
        for (int t = 0; t < NT; ++t) {
            if (t >= rows) break;
            const float v = dot(pc[c], lane % Lanes, act + (static_cast<size_t>(t) * nb + b) * kActStride);
            if (r == 0) acc[0][t] = __fadd_rn(acc[0][t], v);
            else acc[kMaxR - 1][t] = __fadd_rn(acc[kMaxR - 1][t], v);
        }
    }
}

template <bool Swiglu, int NT>
__device__ __forceinline__ void finish_unit(const MvArgs& a, const Unit& u, float (&acc)[kMaxR][NT], int lane) {
#pragma unroll
    for (int r = 0; r < kMaxR; ++r)
#pragma unroll
        for (int t = 0; t < NT; ++t)
            for (int o = 16; o > 0; o >>= 1) acc[r][t] = __fadd_rn(acc[r][t], __shfl_xor_sync(0xffffffffu, acc[r][t], o));
    if (lane != 0) return;
    const MvJob job = job_of(a, u.job);
#pragma unroll
    for (int t = 0; t < NT; ++t) {
        if (t >= a.rows) break;
        float* y = job.y + static_cast<size_t>(t) * job.n;
        if constexpr (Swiglu) {
            const float g = acc[0][t];
            y[u.row0] = __fmul_rn(g / (1.0f + expf(-g)), acc[1][t]);
        } else if (job.role == kPlain) {
#pragma unroll
            for (int r = 0; r < kMaxR; ++r) {
                if (r >= u.rows) break;
                const int o = u.row0 + r * u.step;
                const float v = job.bias != nullptr ? __fadd_rn(acc[r][t], job.bias[o]) : acc[r][t];
                y[o] = a.accumulate ? __fadd_rn(y[o], v) : v;
            }
        } else {
            // QKV: bias, then rope_qk_kernel's rotation of the pair (q, k),
            // then kv_store_kernel's store (k, v).
            float v[kMaxR];
#pragma unroll
            for (int r = 0; r < kMaxR; ++r) {
                const int o = u.row0 + min(r, u.rows - 1) * u.step;
                v[r] = job.bias != nullptr ? __fadd_rn(acc[r][t], job.bias[o]) : acc[r][t];
            }
            const int pos = a.ep.positions[t];
            if (job.role != kStoreV) {
                const int within = u.row0 % a.ep.hd;
                const int i = a.ep.neox ? within : within / 2;
                float sn, cs;
                rope_angle(static_cast<float>(pos), a.ep.inv_freq[i], sn, cs);
                const RopePair y = rope_rotate(v[0], v[kMaxR - 1], sn, cs);
                v[0] = y.y0;
                v[kMaxR - 1] = y.y1;
            }
            const size_t at = (static_cast<size_t>(a.ep.layer) * a.ep.kv.capacity[t] + pos) * a.ep.kv_dim;
#pragma unroll
            for (int r = 0; r < kMaxR; ++r) {
                if (r >= u.rows) break;
                const int o = u.row0 + r * u.step;
                y[o] = v[r];
                if (job.role == kPlain || job.role == kRopeQ) continue;
                void* base = job.role == kRopeStoreK ? a.ep.kv.k_base[t] : a.ep.kv.v_base[t];
                if (a.ep.kv.f16) static_cast<uint16_t*>(base)[at + o] = float_to_half_bits(v[r]);
                else static_cast<float*>(base)[at + o] = v[r];
            }
        }
    }
}

// The units [u0, u1) of one weight kind (Lanes / Chunk / Piece) over the
// blocks [b0, b0 + blocks) of the grid: each warp loads its first chunk,
// waits for the previous kernel, builds the block's activation, then runs
// its units, loading each unit's next chunk as the last is used.
template <bool Swiglu, int NT, int Lanes, int Chunk, class Piece, class Load, class Dot>
__device__ __forceinline__ void run_kind(const MvArgs& a, uint8_t* act, int u0, int u1, int b0, int blocks, Load load,
                                         Dot dot, size_t row_bytes) {
    constexpr int per_it = 32 / Lanes;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int stride = blocks * kWarps;
    int u = u0 + (static_cast<int>(blockIdx.x) - b0) * kWarps + warp;
    Piece pc[Chunk];
    int slot[Chunk];
    // The first chunk's weights are read before the previous kernel's
    // results are waited for (weights never change).
    if (u < u1) load_chunk<Lanes, Chunk>(unit_at<Swiglu>(a, u, row_bytes), a.nb, 0, lane, pc, slot, load);
    pdl_wait();
    pdl_release();
    build_activation(a, act, reinterpret_cast<float*>(act + static_cast<size_t>(a.rows) * a.nb * kActStride));
    __syncthreads();
    while (u < u1) {
        const Unit un = unit_at<Swiglu>(a, u, row_bytes);
        const int iters = (un.rows * a.nb + per_it - 1) / per_it;
        float acc[kMaxR][NT];
#pragma unroll
        for (int r = 0; r < kMaxR; ++r)
#pragma unroll
            for (int t = 0; t < NT; ++t) acc[r][t] = 0.0f;
        for (int it0 = 0;;) {
            dot_chunk<NT, Lanes, Chunk>(a.nb, a.rows, act, lane, pc, slot, acc, dot);
            it0 += Chunk;
            if (it0 >= iters) break;
            load_chunk<Lanes, Chunk>(un, a.nb, it0, lane, pc, slot, load);
        }
        u += stride;
        if (u < u1) load_chunk<Lanes, Chunk>(unit_at<Swiglu>(a, u, row_bytes), a.nb, 0, lane, pc, slot, load);
        finish_unit<Swiglu, NT>(a, un, acc, lane);
    }
}

// Pieces a lane loads before it multiplies. One row: four Q4_K pieces or
// two Q6_K ones (a unit of the LM head, two rows of 6 blocks, then costs one
// trip to memory instead of two), in the 80 registers of three blocks a
// multiprocessor. 4 and 8 rows (two blocks a multiprocessor, 128
// registers): three Q4_K pieces (a unit of 2 x 6 blocks in one trip, where
// one piece took three) or two Q6_K, 114-127 registers without spills; 2
// rows (four blocks, 64 registers) two and one.
__host__ __device__ constexpr int q4_chunk(int nt) { return nt == 1 ? 4 : nt == 2 ? 2 : 3; }
__host__ __device__ constexpr int q6_chunk(int nt) { return nt == 2 ? 1 : 2; }
// The kernel's blocks a multiprocessor (its launch bounds), by activation rows.
__host__ __device__ constexpr int blocks_per_sm(int nt) { return nt == 1 ? 3 : nt >= 4 ? 2 : 4; }
constexpr int kernel_rows(int rows) { return rows == 1 ? 1 : rows == 2 ? 2 : rows <= 4 ? 4 : 8; }

// Blocks [0, q4_blocks) run the Q4_K units [0, q4_units), the rest the
// Q6_K units (the host puts Q4_K jobs first): each block one kind, so one
// kind's registers are live at a time.
template <bool Swiglu, int NT>
__global__ void __launch_bounds__(kThreads, blocks_per_sm(NT)) matvec_kernel(const MvArgs a, int q4_units, int q4_blocks) {
    extern __shared__ __align__(16) uint8_t act[];
    const size_t q4_row = static_cast<size_t>(a.nb) * kQ4_KBytes, q6_row = static_cast<size_t>(a.nb) * kQ6_KBytes;
    if (static_cast<int>(blockIdx.x) < q4_blocks)
        run_kind<Swiglu, NT, kQ4Lanes, q4_chunk(NT), Q4Piece>(
            a, act, 0, q4_units, 0, q4_blocks, [](const uint8_t* b, int t, Q4Piece& p) { q4_load(b, t, p); },
            [](const Q4Piece& p, int t, const uint8_t* x) { return q4_dot(p, t, x); }, q4_row);
    else
        run_kind<Swiglu, NT, kQ6Lanes, q6_chunk(NT), Q6Piece>(
            a, act, q4_units, a.units, q4_blocks, static_cast<int>(gridDim.x) - q4_blocks,
            [](const uint8_t* b, int t, Q6Piece& p) { q6_load(b, t, p); },
            [](const Q6Piece& p, int t, const uint8_t* x) { return q6_dot(p, t, x); }, q6_row);
}

// ---- one activation row, weights streamed through shared memory ----
//
// Each warp keeps a ring of S slots in shared memory, one unit's weight rows
// a slot, filled with cp.async (16 bytes a lane an instruction, no registers
// held): the first S units are in flight before the block builds its
// activation, and each unit's slot is refilled with the unit S ahead as soon
// as it is used. The lanes then read their pieces from shared memory with
// the same loads and sums as matvec_kernel (so the same bits). A Q6_K row is
// copied from the 16-byte boundary below it (its offset kept) and its last
// piece zero-filled past its end.

// Bytes of one row's region in a slot: the row rounded up to 16 bytes, plus
// 16 for a row that starts off a 16-byte boundary.
__host__ __device__ constexpr size_t region_bytes(size_t row_bytes) { return (row_bytes + 15) / 16 * 16 + 16; }

// Copies unit un's rows into slot (one region each); off[r]: where row r
// starts in its region.
__device__ __forceinline__ void fill_slot(const Unit& un, size_t row_bytes, uint8_t* slot, int lane) {
    const size_t region = region_bytes(row_bytes);
#pragma unroll
    for (int r = 0; r < kMaxR; ++r) {
        if (r >= un.rows) break;
        const uintptr_t src = reinterpret_cast<uintptr_t>(r == 0 ? un.row[0] : un.row[kMaxR - 1]);
        const uintptr_t start = src & ~uintptr_t{15}, end = src + row_bytes;
        const int chunks = static_cast<int>((end - start + 15) / 16);
        for (int c = lane; c < chunks; c += 32) {
            const uintptr_t at = start + static_cast<uintptr_t>(c) * 16;
            const int bytes = end - at < 16 ? static_cast<int>(end - at) : 16;
            cp_async16(slot + r * region + static_cast<size_t>(c) * 16, reinterpret_cast<const void*>(at), bytes);
        }
    }
}

template <bool Swiglu, int S, int Lanes, class Piece, class Load, class Dot>
__device__ __forceinline__ void stream_kind(const MvArgs& a, uint8_t* act, uint8_t* rings, size_t slot_bytes, int u0,
                                            int u1, int b0, int blocks, Load load, Dot dot, size_t row_bytes,
                                            int block_bytes) {
    constexpr int per_it = 32 / Lanes;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    // Block j takes the units [u0 + j n / blocks, u0 + (j + 1) n / blocks),
    // its warps in turn: every multiprocessor gets about the same bytes.
    const int j = static_cast<int>(blockIdx.x) - b0;
    const int64_t n = u1 - u0;
    const int first = u0 + static_cast<int>(j * n / blocks) + warp;
    u1 = u0 + static_cast<int>((j + 1) * n / blocks);
    constexpr int stride = kWarps;
    uint8_t* ring = rings + static_cast<size_t>(warp) * S * slot_bytes;
    const size_t region = region_bytes(row_bytes);
#pragma unroll
    for (int i = 0; i < S; ++i) {
        const int u = first + i * stride;
        if (u < u1) fill_slot(unit_at<Swiglu>(a, u, row_bytes), row_bytes, ring + i * slot_bytes, lane);
        cp_async_commit();
    }
    pdl_wait();
    pdl_release();
    build_activation(a, act, reinterpret_cast<float*>(act + static_cast<size_t>(a.nb) * kActStride));
    __syncthreads();
    for (int i = 0, u = first; u < u1; ++i, u += stride) {
        uint8_t* slot = ring + (i % S) * slot_bytes;
        const Unit un = unit_at<Swiglu>(a, u, row_bytes);
        cp_async_wait<S - 1>();
        __syncwarp();
        const int iters = (un.rows * a.nb + per_it - 1) / per_it;
        float acc[kMaxR][1] = {};
        for (int it = 0; it < iters; ++it) {
            const int sl = it * per_it + lane / Lanes;
            if (sl >= un.rows * a.nb) continue;
            const int r = sl / a.nb, b = sl % a.nb;
            const uintptr_t src = reinterpret_cast<uintptr_t>(r == 0 ? un.row[0] : un.row[kMaxR - 1]);
            const uint8_t* blk = slot + r * region + (src & 15) + static_cast<size_t>(b) * block_bytes;
            Piece pc;
            load(blk, lane % Lanes, pc);
            const float v = dot(pc, lane % Lanes, act + b * kActStride);
            if (r == 0) acc[0][0] = __fadd_rn(acc[0][0], v);
            else acc[kMaxR - 1][0] = __fadd_rn(acc[kMaxR - 1][0], v);
        }
        __syncwarp();  // every lane is done with the slot
        const int next = u + S * stride;
        if (next < u1) fill_slot(unit_at<Swiglu>(a, next, row_bytes), row_bytes, slot, lane);
        cp_async_commit();
        finish_unit<Swiglu, 1>(a, un, acc, lane);
    }
    cp_async_wait<0>();
}

// Slots a warp's ring holds: 4 for short rows, 2 for long ones (shared
// memory).
template <bool Swiglu, int Slots>
__global__ void __launch_bounds__(kThreads, 3) matvec_stream_kernel(const MvArgs a, int q4_units, int q4_blocks,
                                                                    int slot_bytes) {
    extern __shared__ __align__(16) uint8_t act[];
    // act: the row's Q8_K blocks, build_activation's stage (k floats), then the warps' rings.
    uint8_t* rings = act + static_cast<size_t>(a.nb) * kActStride + static_cast<size_t>(a.nb) * kQKK * 4;
    const size_t q4_row = static_cast<size_t>(a.nb) * kQ4_KBytes, q6_row = static_cast<size_t>(a.nb) * kQ6_KBytes;
    if (static_cast<int>(blockIdx.x) < q4_blocks)
        stream_kind<Swiglu, Slots, kQ4Lanes, Q4Piece>(
            a, act, rings, static_cast<size_t>(slot_bytes), 0, q4_units, 0, q4_blocks,
            [](const uint8_t* b, int t, Q4Piece& p) { q4_load(b, t, p); },
            [](const Q4Piece& p, int t, const uint8_t* x) { return q4_dot(p, t, x); }, q4_row, kQ4_KBytes);
    else
        stream_kind<Swiglu, Slots, kQ6Lanes, Q6Piece>(
            a, act, rings, static_cast<size_t>(slot_bytes), q4_units, a.units, q4_blocks,
            static_cast<int>(gridDim.x) - q4_blocks, [](const uint8_t* b, int t, Q6Piece& p) { q6_load(b, t, p); },
            [](const Q6Piece& p, int t, const uint8_t* x) { return q6_dot(p, t, x); }, q6_row, kQ6_KBytes);
}

// A block's shared memory: the rows' Q8_K blocks, then one row of floats
// (build_activation's stage), which rows handed over quantized do not use.
size_t matvec_smem(int nb, int rows, bool quantized_input = false) {
    return static_cast<size_t>(rows) * nb * kActStride + (quantized_input ? 0 : static_cast<size_t>(nb) * kQKK * 4);
}

int type_code(DType t) {
    switch (t) {
        case DType::Q4_K: return kQ4K;
        case DType::Q6_K: return kQ6K;
        default: return -1;
    }
}

// Rows per unit: two for short rows (a warp's 32 lanes then hold 8 Q4_K or
// Q6_K blocks' pieces at once), one for long ones.
int rows_per_unit(int nb) { return nb <= 8 ? 2 : 1; }

int env_int(const char* name, int fallback) {
    const char* e = std::getenv(name);
    if (e == nullptr || *e == '\0') return fallback;
    return std::atoi(e);
}

constexpr size_t kSmemPerSm = 227 * 1024;  // Hopper's shared memory a multiprocessor gives its blocks

template <bool Swiglu, int NT>
void allow_smem() {
    cudaFuncSetAttribute(matvec_kernel<Swiglu, NT>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                         static_cast<int>(kMaxSmem));
}

struct Config {
    int sms = 0;
    int blocks_per_sm = 4;
    int max_rounds = 0;  // 0: as many as one wave of blocks needs
    bool stream = false;  // one row: matvec_stream_kernel (APR_CUDA_MV_STREAM=1)
};

const Config& config() {
    static const Config c = [] {
        Config k;
        int dev = 0;
        cudaGetDevice(&dev);
        cudaDeviceGetAttribute(&k.sms, cudaDevAttrMultiProcessorCount, dev);
        if (k.sms <= 0) k.sms = 1;
        k.blocks_per_sm = std::max(1, std::min(4, env_int("APR_CUDA_MV_BLOCKS_PER_SM", 4)));
        k.max_rounds = std::max(0, env_int("APR_CUDA_MV_ROUNDS", 0));
        // Off by default: from registers measured 658-664 tok/s against
        // 619-624 with the rings (H200, tg128, 15:47 UTC, whole-model tests
        // passing both ways); APR_CUDA_MV_STREAM=1 turns the rings on.
        k.stream = env_int("APR_CUDA_MV_STREAM", 0) != 0;
        allow_smem<false, 1>();
        allow_smem<false, 2>();
        allow_smem<false, 4>();
        allow_smem<false, 8>();
        allow_smem<true, 1>();
        allow_smem<true, 2>();
        allow_smem<true, 4>();
        allow_smem<true, 8>();
        for (auto f : {matvec_stream_kernel<false, 2>, matvec_stream_kernel<false, 4>, matvec_stream_kernel<true, 2>,
                       matvec_stream_kernel<true, 4>})
            cudaFuncSetAttribute(f, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(kMaxSmem));
        return k;
    }();
    return c;
}

// The kernel for this many activation rows.
template <bool Swiglu>
auto kernel_for(int rows) {
    if (rows == 1) return matvec_kernel<Swiglu, 1>;
    if (rows == 2) return matvec_kernel<Swiglu, 2>;
    if (rows <= 4) return matvec_kernel<Swiglu, 4>;
    return matvec_kernel<Swiglu, 8>;
}

// One row through shared-memory rings (matvec_stream_kernel); false when
// the rings do not fit.
bool launch_stream(const MvArgs& a, int q4_units, bool swiglu, int unit_rows, Stream s) {
    const Config& c = config();
    size_t slot = 0;
    if (q4_units > 0) slot = std::max(slot, unit_rows * region_bytes(static_cast<size_t>(a.nb) * kQ4_KBytes));
    if (q4_units < a.units) slot = std::max(slot, unit_rows * region_bytes(static_cast<size_t>(a.nb) * kQ6_KBytes));
    const int slots = slot <= 2048 ? 4 : 2;
    const size_t smem = static_cast<size_t>(a.nb) * kActStride + static_cast<size_t>(a.nb) * kQKK * 4 +
                        static_cast<size_t>(kWarps) * slots * slot;
    if (smem > static_cast<size_t>(kMaxSmem)) return false;
    // Up to 3 blocks a multiprocessor (the kernel's launch bounds), as many
    // as their shared memory allows; each kind's share of the grid follows
    // its share of the units, a block at least 8 units.
    const int fit = static_cast<int>(std::min<size_t>(3, std::max<size_t>(1, kSmemPerSm / (smem + 2048))));
    const int max_blocks = c.sms * fit;
    const int blocks = std::max(1, std::min(max_blocks, (a.units + kWarps - 1) / kWarps));
    const int q6_units = a.units - q4_units;
    int q4_blocks = q4_units == 0 ? 0 : q6_units == 0 ? blocks
                                  : std::max(1, static_cast<int>(static_cast<int64_t>(blocks) * q4_units / a.units));
    int q6_blocks = q6_units == 0 ? 0 : std::max(1, blocks - q4_blocks);
    q4_blocks = std::min(q4_blocks, (q4_units + kWarps - 1) / kWarps);
    q6_blocks = std::min(q6_blocks, (q6_units + kWarps - 1) / kWarps);
    const dim3 grid(static_cast<unsigned>(q4_blocks + q6_blocks)), block(kThreads);
    const int sb = static_cast<int>(slot);
    const auto kernel = swiglu ? (slots == 4 ? matvec_stream_kernel<true, 4> : matvec_stream_kernel<true, 2>)
                               : (slots == 4 ? matvec_stream_kernel<false, 4> : matvec_stream_kernel<false, 2>);
    launch_pdl(kernel, grid, block, smem, s, a, q4_units, q4_blocks, sb);
    return true;
}

// q4_units: how many of the units (the first) are Q4_K's; unit_rows: the
// weight rows of a unit.
void launch(const MvArgs& a, int q4_units, bool swiglu, int unit_rows, Stream s) {
    if (a.units == 0 || a.rows == 0) return;
    const Config& c = config();
    if (a.rows == 1 && c.stream && launch_stream(a, q4_units, swiglu, unit_rows, s)) return;
    const size_t smem = matvec_smem(a.nb, a.rows, a.xq != nullptr);
    const int fit = static_cast<int>(std::max<size_t>(1, kSmemPerSm / (smem + 2048)));
    const int regs_fit = blocks_per_sm(kernel_rows(a.rows));
    const int max_blocks = c.sms * std::min({c.blocks_per_sm, fit, regs_fit});
    // Whole rounds of units per warp, as few as the grid allows, each kind
    // on as few blocks as give its warps that many.
    int rounds = (a.units + max_blocks * kWarps - 1) / (max_blocks * kWarps);
    if (c.max_rounds > 0) rounds = std::min(rounds, c.max_rounds);  // then more blocks than one wave
    const int per_block = rounds * kWarps;
    const int q4_blocks = (q4_units + per_block - 1) / per_block;
    const int q6_blocks = (a.units - q4_units + per_block - 1) / per_block;
    launch_pdl(swiglu ? kernel_for<true>(a.rows) : kernel_for<false>(a.rows),
               dim3(static_cast<unsigned>(q4_blocks + q6_blocks)), dim3(kThreads), smem, s, a, q4_units, q4_blocks);
}

MvArgs args_for(int64_t k, int64_t rows, const MatvecInput& in) {
    MvArgs a{};
    a.nb = static_cast<int>(k / kQKK);
    a.rows = static_cast<int>(rows);
    a.x = in.x;
    a.xq = static_cast<const uint8_t*>(in.xq);
    if (a.xq != nullptr && in.norm_w != nullptr) throw std::invalid_argument("apr::cuda::matvec: xq with a norm");
    a.norm_w = in.norm_w;
    a.eps = in.eps;
    a.norm_y = in.norm_y;
    return a;
}

}  // namespace

// Measured on the H200 (1.5B-shaped model, tg128): 653-659 tok/s quantizing
// ffn_down's 8960 values in each of its product's blocks, 797 with one
// quantize kernel before it (together with the other changes of 2026-12-02).
bool matvec_prefers_quantized(int64_t k) noexcept { return k >= 24 * kQKK; }

bool matvec_supported(DType t, int64_t k, int64_t rows) noexcept {
    return type_code(t) >= 0 && k > 0 && k % kQKK == 0 && rows >= 1 && rows <= kMatvecRows &&
           matvec_smem(static_cast<int>(k / kQKK), static_cast<int>(rows)) <= kMaxSmem;
}

void matvec(const MatmulJob* jobs, const DType* types, int count, int64_t k, int64_t rows, const MatvecInput& in,
            bool accumulate, Stream s) {
    if (count < 1 || count > kMaxJobs) throw std::invalid_argument("apr::cuda::matvec: 1 to 3 jobs");
    MvArgs a = args_for(k, rows, in);
    a.accumulate = accumulate;
    // Q4_K jobs first, then Q6_K (the kernel's warps run their units of one
    // kind, then the other's).
    int units = 0, q4_units = 0;
    for (int pass = 0; pass < 2; ++pass) {
        if (pass == 1) q4_units = units;
        for (int i = 0; i < count; ++i) {
            if (!matvec_supported(types[i], k, rows)) throw std::invalid_argument("apr::cuda::matvec: unsupported weight");
            if (type_code(types[i]) != pass) continue;
            MvJob& j = a.j[a.count++];
            j.w = static_cast<const uint8_t*>(jobs[i].w);
            j.bias = jobs[i].bias;
            j.y = jobs[i].y;
            j.n = static_cast<int>(jobs[i].n);
            j.type = pass;
            j.r = rows_per_unit(a.nb);
            j.unit0 = units;
            j.role = kPlain;
            units += (j.n + j.r - 1) / j.r;
        }
    }
    a.units = units;
    launch(a, q4_units, false, rows_per_unit(a.nb), s);
}

bool matvec_qkv_supported(DType q, DType k_type, DType v, int64_t k, int64_t rows, int64_t head_dim) noexcept {
    return matvec_supported(q, k, rows) && matvec_supported(k_type, k, rows) && matvec_supported(v, k, rows) &&
           rows_per_unit(static_cast<int>(k / kQKK)) == 2 && head_dim >= 2 && head_dim % 2 == 0;
}

void matvec_qkv(const MatmulJob* qkv, const DType* types, int64_t k, int64_t rows, const MatvecInput& in,
                const MatvecRope& rope, Stream s) {
    if (!matvec_qkv_supported(types[0], types[1], types[2], k, rows, rope.head_dim))
        throw std::invalid_argument("apr::cuda::matvec_qkv: unsupported weights");
    MvArgs a = args_for(k, rows, in);
    a.ep = {rope.positions, rope.inv_freq, static_cast<int>(rope.head_dim), static_cast<int>(rope.head_dim / 2), rope.neox,
            rope.kv, rope.layer, static_cast<int>(qkv[1].n)};
    const int roles[3] = {kRopeQ, kRopeStoreK, kStoreV};
    int units = 0, q4_units = 0;
    for (int pass = 0; pass < 2; ++pass) {
        if (pass == 1) q4_units = units;
        for (int i = 0; i < 3; ++i) {
            if (type_code(types[i]) != pass) continue;
            MvJob& j = a.j[a.count++];
            j.w = static_cast<const uint8_t*>(qkv[i].w);
            j.bias = qkv[i].bias;
            j.y = qkv[i].y;
            j.n = static_cast<int>(qkv[i].n);
            j.type = pass;
            j.r = 2;
            j.unit0 = units;
            j.role = roles[i];
            units += (j.n + 1) / 2;
        }
    }
    a.units = units;
    launch(a, q4_units, false, 2, s);
}

void matvec_swiglu(DType t, const void* gate, const void* up, int64_t n, int64_t k, int64_t rows, const MatvecInput& in,
                   float* out, Stream s) {
    if (!matvec_supported(t, k, rows)) throw std::invalid_argument("apr::cuda::matvec_swiglu: unsupported weight");
    MvArgs a = args_for(k, rows, in);
    a.count = 1;
    a.j[0] = {static_cast<const uint8_t*>(gate), nullptr, out, static_cast<int>(n), type_code(t), 2, 0, kPlain};
    a.up = static_cast<const uint8_t*>(up);
    a.units = static_cast<int>(n);
    launch(a, t == DType::Q4_K ? a.units : 0, true, 2, s);
}

}  // namespace apr::cuda
