// The decode and small-batch matrix products as templates over the weight
// type (see matmul.cu for the scheme). Included by the per-type translation
// units (matmul_q4k.cu, ...), each instantiating its types through
// APR_MATMUL_ENTRIES, so nvcc compiles them in parallel.
#pragma once

#include <cuda_runtime.h>

#include "cuda/blocks.cuh"
#include "cuda/kernels.hpp"
#include "cuda/matmul_entries.hpp"

namespace apr::cuda::mm {

// ---- per-type dot products of one item ----
// dot(w, item, a): w = the weight block, a = the activation block of the same values.

struct Q4_K {
    static constexpr int kBytes = kQ4_KBytes, kActBytes = kQ8_KBytes, kValues = kQKK, kItems = 4;
    __device__ static float dot(const uint8_t* w, int p, const uint8_t* a) {
        const float d = half_bits_to_float(ld_u16(w)), dmin = half_bits_to_float(ld_u16(w + 2));
        int sc0, m0, sc1, m1;
        k4_scale_min(w + 4, 2 * p, sc0, m0);
        k4_scale_min(w + 4, 2 * p + 1, sc1, m1);
        const int4* q4 = reinterpret_cast<const int4*>(w + 16 + 32 * p);
        const int4 qa = q4[0], qb = q4[1];
        const int qw[8] = {qa.x, qa.y, qa.z, qa.w, qb.x, qb.y, qb.z, qb.w};
        const uint8_t* aq = a + kQ8_KQsAt + 64 * p;
        int dl = 0, dh = 0;
#pragma unroll
        for (int c = 0; c < 8; ++c) {
            dl = __dp4a(qw[c] & 0x0F0F0F0F, ld_i32_a4(aq + 4 * c), dl);
            dh = __dp4a((qw[c] >> 4) & 0x0F0F0F0F, ld_i32_a4(aq + 32 + 4 * c), dh);
        }
        const auto* bs = reinterpret_cast<const int16_t*>(a + kQ8_KSumsAt) + 4 * p;
        const float da = *reinterpret_cast<const float*>(a);
        const int isum = sc0 * dl + sc1 * dh;
        const int msum = m0 * (bs[0] + bs[1]) + m1 * (bs[2] + bs[3]);
        return d * da * static_cast<float>(isum) - dmin * da * static_cast<float>(msum);
    }
};

struct Q5_K {
    static constexpr int kBytes = kQ5_KBytes, kActBytes = kQ8_KBytes, kValues = kQKK, kItems = 4;
    __device__ static float dot(const uint8_t* w, int p, const uint8_t* a) {
        const float d = half_bits_to_float(ld_u16(w)), dmin = half_bits_to_float(ld_u16(w + 2));
        int sc0, m0, sc1, m1;
        k4_scale_min(w + 4, 2 * p, sc0, m0);
        k4_scale_min(w + 4, 2 * p + 1, sc1, m1);
        const int4* qh4 = reinterpret_cast<const int4*>(w + 16);
        const int4 ha = qh4[0], hb = qh4[1];
        const int qh[8] = {ha.x, ha.y, ha.z, ha.w, hb.x, hb.y, hb.z, hb.w};
        const int4* q4 = reinterpret_cast<const int4*>(w + 48 + 32 * p);
        const int4 qa = q4[0], qb = q4[1];
        const int qw[8] = {qa.x, qa.y, qa.z, qa.w, qb.x, qb.y, qb.z, qb.w};
        const uint8_t* aq = a + kQ8_KQsAt + 64 * p;
        int dl = 0, dh = 0;
#pragma unroll
        for (int c = 0; c < 8; ++c) {
            const int lo = (qw[c] & 0x0F0F0F0F) | (((qh[c] >> (2 * p)) & 0x01010101) << 4);
            const int hi = ((qw[c] >> 4) & 0x0F0F0F0F) | (((qh[c] >> (2 * p + 1)) & 0x01010101) << 4);
            dl = __dp4a(lo, ld_i32_a4(aq + 4 * c), dl);
            dh = __dp4a(hi, ld_i32_a4(aq + 32 + 4 * c), dh);
        }
        const auto* bs = reinterpret_cast<const int16_t*>(a + kQ8_KSumsAt) + 4 * p;
        const float da = *reinterpret_cast<const float*>(a);
        const int isum = sc0 * dl + sc1 * dh;
        const int msum = m0 * (bs[0] + bs[1]) + m1 * (bs[2] + bs[3]);
        return d * da * static_cast<float>(isum) - dmin * da * static_cast<float>(msum);
    }
};

struct Q6_K {
    static constexpr int kBytes = kQ6_KBytes, kActBytes = kQ8_KBytes, kValues = kQKK, kItems = 8;
    __device__ static float dot(const uint8_t* w, int it, const uint8_t* a) {
        const int half = it / 4, quarter = it % 4;
        const uint8_t* ql = w + half * 64 + (quarter & 1) * 32;
        const uint8_t* qh = w + 128 + half * 32;
        const int shift_l = quarter >= 2 ? 4 : 0, shift_h = 2 * quarter;
        const uint8_t* aq = a + kQ8_KQsAt + 32 * it;
        int d0 = 0, d1 = 0;
#pragma unroll
        for (int c = 0; c < 8; ++c) {
            const int l = ld_i32_a2(ql + 4 * c), h = ld_i32_a2(qh + 4 * c);
            const int q = centered_bytes<32>(((l >> shift_l) & 0x0F0F0F0F) | (((h >> shift_h) & 0x03030303) << 4));
            if (c < 4) d0 = __dp4a(q, ld_i32_a4(aq + 4 * c), d0);
            else d1 = __dp4a(q, ld_i32_a4(aq + 4 * c), d1);
        }
        const auto* sc = reinterpret_cast<const int8_t*>(w + 192) + 2 * it;
        const float d = half_bits_to_float(ld_u16(w + 208));
        const float da = *reinterpret_cast<const float*>(a);
        return d * da * static_cast<float>(sc[0] * d0 + sc[1] * d1);
    }
};

struct Q8_0 {
    static constexpr int kBytes = kQ8_0Bytes, kActBytes = kQ8_0Bytes, kValues = kQK, kItems = 1;
    __device__ static float dot(const uint8_t* w, int, const uint8_t* a) {
        int s = 0;
#pragma unroll
        for (int c = 0; c < 8; ++c) s = __dp4a(ld_i32_a2(w + 2 + 4 * c), ld_i32_a2(a + 2 + 4 * c), s);
        return static_cast<float>(s) * (half_bits_to_float(ld_u16(w)) * half_bits_to_float(ld_u16(a)));
    }
};

struct Q4_0 {
    static constexpr int kBytes = kQ4_0Bytes, kActBytes = kQ8_0Bytes, kValues = kQK, kItems = 1;
    __device__ static float dot(const uint8_t* w, int, const uint8_t* a) {
        int s = 0;
#pragma unroll
        for (int c = 0; c < 4; ++c) {
            const int q = ld_i32_a2(w + 2 + 4 * c);
            s = __dp4a(centered_bytes<8>(q & 0x0F0F0F0F), ld_i32_a2(a + 2 + 4 * c), s);
            s = __dp4a(centered_bytes<8>((q >> 4) & 0x0F0F0F0F), ld_i32_a2(a + 18 + 4 * c), s);
        }
        return static_cast<float>(s) * (half_bits_to_float(ld_u16(w)) * half_bits_to_float(ld_u16(a)));
    }
};

struct Q4_1 {
    static constexpr int kBytes = kQ4_1Bytes, kActBytes = kQ8_1Bytes, kValues = kQK, kItems = 1;
    __device__ static float dot(const uint8_t* w, int, const uint8_t* a) {
        int s = 0;
#pragma unroll
        for (int c = 0; c < 4; ++c) {
            const int q = ld_i32_a4(w + 4 + 4 * c);
            s = __dp4a(q & 0x0F0F0F0F, ld_i32_a4(a + 4 + 4 * c), s);
            s = __dp4a((q >> 4) & 0x0F0F0F0F, ld_i32_a4(a + 20 + 4 * c), s);
        }
        return static_cast<float>(s) * (half_bits_to_float(ld_u16(w)) * half_bits_to_float(ld_u16(a))) +
               half_bits_to_float(ld_u16(w + 2)) * half_bits_to_float(ld_u16(a + 2));
    }
};

struct Q5_0 {
    static constexpr int kBytes = kQ5_0Bytes, kActBytes = kQ8_0Bytes, kValues = kQK, kItems = 1;
    __device__ static float dot(const uint8_t* w, int, const uint8_t* a) {
        const uint32_t qh = static_cast<uint32_t>(ld_i32_a2(w + 2));
        int s = 0;
#pragma unroll
        for (int c = 0; c < 4; ++c) {
            const int q = ld_i32_a2(w + 6 + 4 * c);
            const int lo = (q & 0x0F0F0F0F) | (spread_bits4(qh >> (4 * c)) << 4);
            const int hi = ((q >> 4) & 0x0F0F0F0F) | (spread_bits4(qh >> (16 + 4 * c)) << 4);
            s = __dp4a(centered_bytes<16>(lo), ld_i32_a2(a + 2 + 4 * c), s);
            s = __dp4a(centered_bytes<16>(hi), ld_i32_a2(a + 18 + 4 * c), s);
        }
        return static_cast<float>(s) * (half_bits_to_float(ld_u16(w)) * half_bits_to_float(ld_u16(a)));
    }
};

struct Q5_1 {
    static constexpr int kBytes = kQ5_1Bytes, kActBytes = kQ8_1Bytes, kValues = kQK, kItems = 1;
    __device__ static float dot(const uint8_t* w, int, const uint8_t* a) {
        const uint32_t qh = static_cast<uint32_t>(ld_i32_a4(w + 4));
        int s = 0;
#pragma unroll
        for (int c = 0; c < 4; ++c) {
            const int q = ld_i32_a4(w + 8 + 4 * c);
            const int lo = (q & 0x0F0F0F0F) | (spread_bits4(qh >> (4 * c)) << 4);
            const int hi = ((q >> 4) & 0x0F0F0F0F) | (spread_bits4(qh >> (16 + 4 * c)) << 4);
            s = __dp4a(lo, ld_i32_a4(a + 4 + 4 * c), s);
            s = __dp4a(hi, ld_i32_a4(a + 20 + 4 * c), s);
        }
        return static_cast<float>(s) * (half_bits_to_float(ld_u16(w)) * half_bits_to_float(ld_u16(a))) +
               half_bits_to_float(ld_u16(w + 2)) * half_bits_to_float(ld_u16(a + 2));
    }
};

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// Warps per weight row. Splitting long rows (down: k = 8960) over 2 or 4
// warps was measured on the H200 and lost: each row's block then reads the
// whole activation vector from L2 on its own (4 rows per block share it
// through L1), 9.1 -> 10.6 us for Q4_K 1536 x 8960, and the LM head lost
// 20 to 35%. So one warp per row; the templates keep WPR for later tries.
template <class T>
int warps_per_row(int) {
    return 1;
}

// Lane `li` of a row's `WPR * 32` lanes: items li, li + stride, ... in
// groups of 4 whose loads are issued together.
template <class T, int NT, int WPR>
__device__ __forceinline__ void row_dots(const uint8_t* __restrict__ wr, const uint8_t* __restrict__ ar, size_t act_row,
                                         int nb, int nt, int li, float (&acc)[NT]) {
    constexpr int stride = WPR * 32;
    // Items per lane whose loads are issued together: 1, as the loop always
    // was (more raised register use and cost occupancy: gate/up 7.4 -> 8.7 us).
    constexpr int kGroup = 1;
    const int items = nb * T::kItems;
    for (int base = li; base < items; base += kGroup * stride) {
#pragma unroll
        for (int u = 0; u < kGroup; ++u) {
            const int i = base + u * stride;
            if (i < items) {
                const int b = i / T::kItems, it = i % T::kItems;
#pragma unroll
                for (int t = 0; t < NT; ++t)
                    if (t < nt) acc[t] += T::dot(wr + static_cast<size_t>(b) * T::kBytes, it, ar + t * act_row + b * T::kActBytes);
            }
        }
    }
}

// Sums each row's lanes: afterwards the first lane of the row's first warp
// holds the totals. Every thread of the block must call it (a barrier).
template <int NT, int WPR>
__device__ __forceinline__ void row_sums(float (&acc)[NT], float (*part)[NT]) {
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
#pragma unroll
    for (int t = 0; t < NT; ++t)
        for (int o = 16; o > 0; o >>= 1) acc[t] += __shfl_xor_sync(0xffffffffu, acc[t], o);
    if constexpr (WPR > 1) {
        if (lane == 0)
#pragma unroll
            for (int t = 0; t < NT; ++t) part[warp][t] = acc[t];
        __syncthreads();
        if (lane == 0 && warp % WPR == 0)
#pragma unroll
            for (int t = 0; t < NT; ++t) {
                float sum = 0.0f;
                for (int w = 0; w < WPR; ++w) sum += part[warp + w][t];
                acc[t] = sum;
            }
    }
}

// WPR warps per weight row, NT tokens per launch row-tile (blockIdx.y).
template <class T, int NT, int WPR>
__global__ void __launch_bounds__(kWarpsPerBlock * 32)
    matmul_q_kernel(const uint8_t* __restrict__ w, int n, int nb, const uint8_t* __restrict__ act, int rows,
                    float* __restrict__ y) {
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int row = blockIdx.x * (kWarpsPerBlock / WPR) + warp / WPR;
    const bool valid = row < n;
    const int t0 = blockIdx.y * NT;
    const int nt = min(NT, rows - t0);
    const size_t act_row = static_cast<size_t>(nb) * T::kActBytes;
    const uint8_t* wr = w + static_cast<size_t>(valid ? row : 0) * nb * T::kBytes;
    const uint8_t* ar = act + static_cast<size_t>(t0) * act_row;
    float acc[NT];
#pragma unroll
    for (int t = 0; t < NT; ++t) acc[t] = 0.0f;
    if (valid) row_dots<T, NT, WPR>(wr, ar, act_row, nb, nt, (warp % WPR) * 32 + lane, acc);
    __shared__ float part[kWarpsPerBlock][NT];
    row_sums<NT, WPR>(acc, part);
    if (valid && lane == 0 && warp % WPR == 0)
#pragma unroll
        for (int t = 0; t < NT; ++t)
            if (t < nt) y[static_cast<size_t>(t0 + t) * n + row] = acc[t];
}

// Float weights (F32, F16, BF16) times f32 activations; any k.


template <class T, int NT, bool Swiglu, int WPR>
__global__ void __launch_bounds__(kWarpsPerBlock * 32)
    matmul_group_kernel(Jobs jobs, int nb, const uint8_t* __restrict__ act, int rows, bool accumulate) {
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int g = blockIdx.x * (kWarpsPerBlock / WPR) + warp / WPR;
    const bool valid = g < jobs.start[jobs.count];
    int j = 0;
    if (valid)
        while (g >= jobs.start[j + 1]) ++j;
    const int row = valid ? g - jobs.start[j] : 0;
    const MatmulJob& job = jobs.j[j];
    const int t0 = blockIdx.y * NT;
    const int nt = min(NT, rows - t0);
    const size_t act_row = static_cast<size_t>(nb) * T::kActBytes;
    const uint8_t* ar = act + static_cast<size_t>(t0) * act_row;
    const uint8_t* wr = static_cast<const uint8_t*>(job.w) + static_cast<size_t>(row) * nb * T::kBytes;
    float acc[NT], acc_u[NT];
#pragma unroll
    for (int t = 0; t < NT; ++t) acc[t] = acc_u[t] = 0.0f;
    const int li = (warp % WPR) * 32 + lane;
    if (valid) {
        row_dots<T, NT, WPR>(wr, ar, act_row, nb, nt, li, acc);
        if constexpr (Swiglu)
            row_dots<T, NT, WPR>(static_cast<const uint8_t*>(jobs.j[1].w) + static_cast<size_t>(row) * nb * T::kBytes, ar,
                                 act_row, nb, nt, li, acc_u);
    }
    __shared__ float part[kWarpsPerBlock][NT];
    row_sums<NT, WPR>(acc, part);
    if constexpr (Swiglu) {
        __syncthreads();  // part is reused
        row_sums<NT, WPR>(acc_u, part);
    }
    if (!valid || lane != 0 || warp % WPR != 0) return;
#pragma unroll
    for (int t = 0; t < NT; ++t) {
        if (t >= nt) continue;
        const float s = acc[t];
        if constexpr (Swiglu) {
            job.y[static_cast<size_t>(t0 + t) * job.n + row] = __fmul_rn(s / (1.0f + expf(-s)), acc_u[t]);
        } else {
            const float b = job.bias != nullptr ? s + job.bias[row] : s;
            float* out = job.y + static_cast<size_t>(t0 + t) * job.n + row;
            *out = accumulate ? *out + b : b;
        }
    }
}

template <class T, bool Swiglu, int WPR>
void launch_group_w(const Jobs& jobs, int nb, const uint8_t* ab, int r, bool accumulate, Stream s) {
    constexpr int rows_per_block = kWarpsPerBlock / WPR;
    const unsigned gx = static_cast<unsigned>((jobs.start[jobs.count] + rows_per_block - 1) / rows_per_block);
    if (r == 1) matmul_group_kernel<T, 1, Swiglu, WPR><<<dim3(gx, 1), kWarpsPerBlock * 32, 0, s>>>(jobs, nb, ab, r, accumulate);
    else if (r <= 4) matmul_group_kernel<T, 4, Swiglu, WPR><<<dim3(gx, 1), kWarpsPerBlock * 32, 0, s>>>(jobs, nb, ab, r, accumulate);
    else {
        const unsigned gy = static_cast<unsigned>((r + 7) / 8);
        matmul_group_kernel<T, 8, Swiglu, WPR><<<dim3(gx, gy), kWarpsPerBlock * 32, 0, s>>>(jobs, nb, ab, r, accumulate);
    }
}

template <class T, bool Swiglu>
void launch_group(const Jobs& jobs, int64_t k, const void* act, int64_t rows, bool accumulate, Stream s) {
    const int nb = static_cast<int>(k / T::kValues);
    const auto* ab = static_cast<const uint8_t*>(act);
    const int r = static_cast<int>(rows);
    (void)warps_per_row<T>(nb);
    launch_group_w<T, Swiglu, 1>(jobs, nb, ab, r, accumulate, s);
}


template <class T, int WPR>
void launch_q_w(const uint8_t* wb, int64_t n, int nb, const uint8_t* ab, int64_t rows, float* y, Stream s) {
    constexpr int rows_per_block = kWarpsPerBlock / WPR;
    const dim3 block(kWarpsPerBlock * 32);
    const unsigned gx = static_cast<unsigned>((n + rows_per_block - 1) / rows_per_block);
    if (rows == 1) {
        matmul_q_kernel<T, 1, WPR><<<dim3(gx, 1), block, 0, s>>>(wb, static_cast<int>(n), nb, ab, 1, y);
    } else if (rows <= 4) {
        matmul_q_kernel<T, 4, WPR><<<dim3(gx, 1), block, 0, s>>>(wb, static_cast<int>(n), nb, ab, static_cast<int>(rows), y);
    } else {
        const unsigned gy = static_cast<unsigned>((rows + kTile - 1) / kTile);
        matmul_q_kernel<T, kTile, WPR><<<dim3(gx, gy), block, 0, s>>>(wb, static_cast<int>(n), nb, ab, static_cast<int>(rows), y);
    }
}

template <class T>
void launch_q(const void* w, int64_t n, int64_t k, const void* act, int64_t rows, float* y, Stream s) {
    const int nb = static_cast<int>(k / T::kValues);
    const auto* wb = static_cast<const uint8_t*>(w);
    const auto* ab = static_cast<const uint8_t*>(act);
    (void)warps_per_row<T>(nb);
    launch_q_w<T, 1>(wb, n, nb, ab, rows, y, s);
}

}  // namespace apr::cuda::mm

// One type's entry points (matmul_entries.hpp), in its translation unit.
#define APR_MATMUL_ENTRIES(X)                                                                                        \
    namespace apr::cuda::mm {                                                                                      \
    void q_##X(const void* w, int64_t n, int64_t k, const void* act, int64_t rows, float* y, Stream s) {            \
        launch_q<X>(w, n, k, act, rows, y, s);                                                                     \
    }                                                                                                              \
    void group_##X(const Jobs& jobs, int64_t k, const void* act, int64_t rows, bool accumulate, Stream s) {          \
        launch_group<X, false>(jobs, k, act, rows, accumulate, s);                                                 \
    }                                                                                                              \
    void swiglu_##X(const Jobs& jobs, int64_t k, const void* act, int64_t rows, Stream s) {                         \
        launch_group<X, true>(jobs, k, act, rows, false, s);                                                       \
    }                                                                                                              \
    }
