// Matrix products on the GPU straight from the stored weight blocks.
//
// Activation quantizers (f32 -> Q8_0 / Q8_1 / Q8_K) repeat the CPU's
// reference arithmetic operation for operation, so their bytes equal the
// CPU's. Products: one warp per output row; its lanes take the row's "items"
// (a slice of a block: 64 values of Q4_K/Q5_K, 32 of Q6_K, one 32-value
// block of the legacy types) in turn, each item an int8 dot product (dp4a)
// of unpacked weight nibbles with the quantized activations, scaled once.
// A launch handles up to kTile tokens per weight row read, so prompt batches
// read each weight row once per kTile tokens.
#include <cuda_runtime.h>

#include <stdexcept>

#include "cuda/blocks.cuh"
#include "cuda/quantize.cuh"
#include "cuda/kernels.hpp"

namespace apr::cuda {
namespace {

constexpr int kWarpsPerBlock = 4;

// ---- activation quantizers -----------------------------------------------------

// One warp per 32-value block; lane = value. WithSum: Q8_1 (s = d * sum q).
template <bool WithSum>
__global__ void quantize_q8_0_kernel(const float* __restrict__ x, int64_t rows, int64_t k, uint8_t* __restrict__ out) {
    const int64_t nb = k / kQK;
    const int64_t block = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
    const int lane = threadIdx.x % 32;
    if (block >= rows * nb) return;
    const int64_t r = block / nb, b = block % nb;
    quantize_q8_0_warp<WithSum>(x[r * k + b * kQK + lane], lane, out + (r * nb + b) * (WithSum ? kQ8_1Bytes : kQ8_0Bytes));
}

// One warp per 256-value block; lane l holds values 8l..8l+7.
__global__ void quantize_q8_K_kernel(const float* __restrict__ x, int64_t rows, int64_t k, uint8_t* __restrict__ out) {
    const int64_t nb = k / kQKK;
    const int64_t block = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
    const int lane = threadIdx.x % 32;
    if (block >= rows * nb) return;
    const int64_t r = block / nb, b = block % nb;
    const float* src = x + r * k + b * kQKK + lane * 8;
    float v[8];
#pragma unroll
    for (int j = 0; j < 8; ++j) v[j] = src[j];
    quantize_q8_K_warp(v, lane, out + (r * nb + b) * kQ8_KBytes);
}

// ---- per-type dot products of one item --------------------------------------------
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
        const uint8_t* aq = a + 4 + 64 * p;
        int dl = 0, dh = 0;
#pragma unroll
        for (int c = 0; c < 8; ++c) {
            dl = __dp4a(qw[c] & 0x0F0F0F0F, ld_i32_a4(aq + 4 * c), dl);
            dh = __dp4a((qw[c] >> 4) & 0x0F0F0F0F, ld_i32_a4(aq + 32 + 4 * c), dh);
        }
        const auto* bs = reinterpret_cast<const int16_t*>(a + 260) + 4 * p;
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
        const uint8_t* aq = a + 4 + 64 * p;
        int dl = 0, dh = 0;
#pragma unroll
        for (int c = 0; c < 8; ++c) {
            const int lo = (qw[c] & 0x0F0F0F0F) | (((qh[c] >> (2 * p)) & 0x01010101) << 4);
            const int hi = ((qw[c] >> 4) & 0x0F0F0F0F) | (((qh[c] >> (2 * p + 1)) & 0x01010101) << 4);
            dl = __dp4a(lo, ld_i32_a4(aq + 4 * c), dl);
            dh = __dp4a(hi, ld_i32_a4(aq + 32 + 4 * c), dh);
        }
        const auto* bs = reinterpret_cast<const int16_t*>(a + 260) + 4 * p;
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
        const uint8_t* aq = a + 4 + 32 * it;
        int d0 = 0, d1 = 0;
#pragma unroll
        for (int c = 0; c < 8; ++c) {
            const int l = ld_i32_a2(ql + 4 * c), h = ld_i32_a2(qh + 4 * c);
            const int q = vsub4(((l >> shift_l) & 0x0F0F0F0F) | (((h >> shift_h) & 0x03030303) << 4), 0x20202020);
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
            s = __dp4a(vsub4(q & 0x0F0F0F0F, 0x08080808), ld_i32_a2(a + 2 + 4 * c), s);
            s = __dp4a(vsub4((q >> 4) & 0x0F0F0F0F, 0x08080808), ld_i32_a2(a + 18 + 4 * c), s);
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
            s = __dp4a(vsub4(lo, 0x10101010), ld_i32_a2(a + 2 + 4 * c), s);
            s = __dp4a(vsub4(hi, 0x10101010), ld_i32_a2(a + 18 + 4 * c), s);
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

// One warp per weight row, NT tokens per launch row-tile (blockIdx.y).
template <class T, int NT>
__global__ void __launch_bounds__(kWarpsPerBlock * 32)
    matmul_q_kernel(const uint8_t* __restrict__ w, int n, int nb, const uint8_t* __restrict__ act, int rows,
                    float* __restrict__ y) {
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int row = blockIdx.x * kWarpsPerBlock + warp;
    if (row >= n) return;
    const int t0 = blockIdx.y * NT;
    const int nt = min(NT, rows - t0);
    const size_t act_row = static_cast<size_t>(nb) * T::kActBytes;
    const uint8_t* wr = w + static_cast<size_t>(row) * nb * T::kBytes;
    const uint8_t* ar = act + static_cast<size_t>(t0) * act_row;
    float acc[NT];
#pragma unroll
    for (int t = 0; t < NT; ++t) acc[t] = 0.0f;
    const int items = nb * T::kItems;
    for (int i = lane; i < items; i += 32) {
        const int b = i / T::kItems, it = i % T::kItems;
#pragma unroll
        for (int t = 0; t < NT; ++t)
            if (t < nt) acc[t] += T::dot(wr + static_cast<size_t>(b) * T::kBytes, it, ar + t * act_row + b * T::kActBytes);
    }
#pragma unroll
    for (int t = 0; t < NT; ++t) {
        const float s = warp_sum(acc[t]);
        if (lane == 0 && t < nt) y[static_cast<size_t>(t0 + t) * n + row] = s;
    }
}

// Float weights (F32, F16, BF16) times f32 activations; any k.
struct F32W {
    __device__ static float get(const void* w, size_t i) { return static_cast<const float*>(w)[i]; }
};
struct F16W {
    __device__ static float get(const void* w, size_t i) {
        return half_bits_to_float(static_cast<const uint16_t*>(w)[i]);
    }
};
struct BF16W {
    __device__ static float get(const void* w, size_t i) {
        return __uint_as_float(static_cast<uint32_t>(static_cast<const uint16_t*>(w)[i]) << 16);
    }
};

template <class F, int NT>
__global__ void __launch_bounds__(kWarpsPerBlock * 32)
    matmul_f_kernel(const void* __restrict__ w, int n, int k, const float* __restrict__ x, int rows,
                    float* __restrict__ y) {
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int row = blockIdx.x * kWarpsPerBlock + warp;
    if (row >= n) return;
    const int t0 = blockIdx.y * NT;
    const int nt = min(NT, rows - t0);
    const size_t base = static_cast<size_t>(row) * k;
    float acc[NT];
#pragma unroll
    for (int t = 0; t < NT; ++t) acc[t] = 0.0f;
    for (int i = lane; i < k; i += 32) {
        const float wv = F::get(w, base + i);
#pragma unroll
        for (int t = 0; t < NT; ++t)
            if (t < nt) acc[t] += wv * x[static_cast<size_t>(t0 + t) * k + i];
    }
#pragma unroll
    for (int t = 0; t < NT; ++t) {
        const float s = warp_sum(acc[t]);
        if (lane == 0 && t < nt) y[static_cast<size_t>(t0 + t) * n + row] = s;
    }
}

// Grouped decode products: the rows of up to kMaxGroup weights laid end to
// end over the grid; Swiglu: job 0 is gate, job 1 up, one warp computes row
// o of both and writes silu(g) * u to job 0's output.
struct Jobs {
    MatmulJob j[kMaxGroup];
    int count;
    int start[kMaxGroup + 1];  // first global row of each job
};

template <class T, int NT, bool Swiglu>
__global__ void __launch_bounds__(kWarpsPerBlock * 32)
    matmul_group_kernel(Jobs jobs, int nb, const uint8_t* __restrict__ act, int rows, bool accumulate) {
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int g = blockIdx.x * kWarpsPerBlock + warp;
    if (g >= jobs.start[jobs.count]) return;
    int j = 0;
    while (g >= jobs.start[j + 1]) ++j;
    const int row = g - jobs.start[j];
    const MatmulJob& job = jobs.j[j];
    const int t0 = blockIdx.y * NT;
    const int nt = min(NT, rows - t0);
    const size_t act_row = static_cast<size_t>(nb) * T::kActBytes;
    const uint8_t* ar = act + static_cast<size_t>(t0) * act_row;
    const uint8_t* wr = static_cast<const uint8_t*>(job.w) + static_cast<size_t>(row) * nb * T::kBytes;
    const uint8_t* ur = Swiglu ? static_cast<const uint8_t*>(jobs.j[1].w) + static_cast<size_t>(row) * nb * T::kBytes : nullptr;
    float acc[NT], acc_u[NT];
#pragma unroll
    for (int t = 0; t < NT; ++t) acc[t] = acc_u[t] = 0.0f;
    const int items = nb * T::kItems;
    for (int i = lane; i < items; i += 32) {
        const int b = i / T::kItems, it = i % T::kItems;
#pragma unroll
        for (int t = 0; t < NT; ++t)
            if (t < nt) {
                const uint8_t* a = ar + t * act_row + b * T::kActBytes;
                acc[t] += T::dot(wr + static_cast<size_t>(b) * T::kBytes, it, a);
                if constexpr (Swiglu) acc_u[t] += T::dot(ur + static_cast<size_t>(b) * T::kBytes, it, a);
            }
    }
#pragma unroll
    for (int t = 0; t < NT; ++t) {
        float s = warp_sum(acc[t]);
        if constexpr (Swiglu) {
            const float u = warp_sum(acc_u[t]);
            if (lane == 0 && t < nt) job.y[static_cast<size_t>(t0 + t) * job.n + row] = __fmul_rn(s / (1.0f + expf(-s)), u);
        } else {
            if (job.bias != nullptr) s += job.bias[row];
            if (lane == 0 && t < nt) {
                float* out = job.y + static_cast<size_t>(t0 + t) * job.n + row;
                *out = accumulate ? *out + s : s;
            }
        }
    }
}

template <class T, bool Swiglu>
void launch_group(const Jobs& jobs, int64_t k, const void* act, int64_t rows, bool accumulate, Stream s) {
    const int nb = static_cast<int>(k / T::kValues);
    const unsigned gx = static_cast<unsigned>((jobs.start[jobs.count] + kWarpsPerBlock - 1) / kWarpsPerBlock);
    const auto* ab = static_cast<const uint8_t*>(act);
    const int r = static_cast<int>(rows);
    if (rows == 1) matmul_group_kernel<T, 1, Swiglu><<<dim3(gx, 1), kWarpsPerBlock * 32, 0, s>>>(jobs, nb, ab, r, accumulate);
    else if (rows <= 4) matmul_group_kernel<T, 4, Swiglu><<<dim3(gx, 1), kWarpsPerBlock * 32, 0, s>>>(jobs, nb, ab, r, accumulate);
    else {
        const unsigned gy = static_cast<unsigned>((rows + 7) / 8);
        matmul_group_kernel<T, 8, Swiglu><<<dim3(gx, gy), kWarpsPerBlock * 32, 0, s>>>(jobs, nb, ab, r, accumulate);
    }
}

template <bool Swiglu>
void dispatch_group(DType t, const Jobs& jobs, int64_t k, const void* act, int64_t rows, bool accumulate, Stream s) {
    switch (t) {
        case DType::Q4_0: return launch_group<Q4_0, Swiglu>(jobs, k, act, rows, accumulate, s);
        case DType::Q4_1: return launch_group<Q4_1, Swiglu>(jobs, k, act, rows, accumulate, s);
        case DType::Q5_0: return launch_group<Q5_0, Swiglu>(jobs, k, act, rows, accumulate, s);
        case DType::Q5_1: return launch_group<Q5_1, Swiglu>(jobs, k, act, rows, accumulate, s);
        case DType::Q8_0: return launch_group<Q8_0, Swiglu>(jobs, k, act, rows, accumulate, s);
        case DType::Q4_K: return launch_group<Q4_K, Swiglu>(jobs, k, act, rows, accumulate, s);
        case DType::Q5_K: return launch_group<Q5_K, Swiglu>(jobs, k, act, rows, accumulate, s);
        case DType::Q6_K: return launch_group<Q6_K, Swiglu>(jobs, k, act, rows, accumulate, s);
        default: throw std::invalid_argument("apr::cuda::matmul_group: a quantized weight type is needed");
    }
}

constexpr int kTile = 8;

template <class T>
void launch_q(const void* w, int64_t n, int64_t k, const void* act, int64_t rows, float* y, Stream s) {
    const int nb = static_cast<int>(k / T::kValues);
    const dim3 block(kWarpsPerBlock * 32);
    const auto* wb = static_cast<const uint8_t*>(w);
    const auto* ab = static_cast<const uint8_t*>(act);
    const unsigned gx = static_cast<unsigned>((n + kWarpsPerBlock - 1) / kWarpsPerBlock);
    if (rows == 1) {
        matmul_q_kernel<T, 1><<<dim3(gx, 1), block, 0, s>>>(wb, static_cast<int>(n), nb, ab, 1, y);
    } else if (rows <= 4) {
        matmul_q_kernel<T, 4><<<dim3(gx, 1), block, 0, s>>>(wb, static_cast<int>(n), nb, ab, static_cast<int>(rows), y);
    } else {
        const unsigned gy = static_cast<unsigned>((rows + kTile - 1) / kTile);
        matmul_q_kernel<T, kTile><<<dim3(gx, gy), block, 0, s>>>(wb, static_cast<int>(n), nb, ab, static_cast<int>(rows), y);
    }
}

template <class F>
void launch_f(const void* w, int64_t n, int64_t k, const float* x, int64_t rows, float* y, Stream s) {
    const dim3 block(kWarpsPerBlock * 32);
    const unsigned gx = static_cast<unsigned>((n + kWarpsPerBlock - 1) / kWarpsPerBlock);
    if (rows == 1) {
        matmul_f_kernel<F, 1><<<dim3(gx, 1), block, 0, s>>>(w, static_cast<int>(n), static_cast<int>(k), x, 1, y);
    } else {
        const unsigned gy = static_cast<unsigned>((rows + kTile - 1) / kTile);
        matmul_f_kernel<F, kTile><<<dim3(gx, gy), block, 0, s>>>(w, static_cast<int>(n), static_cast<int>(k), x,
                                                                 static_cast<int>(rows), y);
    }
}

}  // namespace

void matmul_group(DType t, const MatmulJob* list, int count, int64_t k, const void* act, int64_t rows, bool accumulate,
                  Stream s) {
    if (count < 1 || count > kMaxGroup) throw std::invalid_argument("apr::cuda::matmul_group: 1 to 3 jobs");
    Jobs jobs{};
    jobs.count = count;
    for (int i = 0; i < count; ++i) {
        jobs.j[i] = list[i];
        jobs.start[i + 1] = jobs.start[i] + static_cast<int>(list[i].n);
    }
    dispatch_group<false>(t, jobs, k, act, rows, accumulate, s);
}

void matmul_swiglu(DType t, const void* gate, const void* up, int64_t n, int64_t k, const void* act, int64_t rows,
                   float* out, Stream s) {
    Jobs jobs{};
    jobs.count = 1;  // the grid covers gate's rows; job 1 names up
    jobs.j[0] = {gate, n, nullptr, out};
    jobs.j[1] = {up, n, nullptr, nullptr};
    jobs.start[1] = static_cast<int>(n);
    dispatch_group<true>(t, jobs, k, act, rows, false, s);
}

bool matmul_supported(DType t) noexcept {
    switch (t) {
        case DType::F32: case DType::F16: case DType::BF16: case DType::Q4_0: case DType::Q4_1: case DType::Q5_0:
        case DType::Q5_1: case DType::Q8_0: case DType::Q4_K: case DType::Q5_K: case DType::Q6_K: return true;
        default: return false;
    }
}

size_t activation_row_bytes(DType t, int64_t k) {
    switch (t) {
        case DType::F32: case DType::F16: case DType::BF16: return static_cast<size_t>(k) * 4;
        case DType::Q8_0: case DType::Q4_0: case DType::Q5_0: return static_cast<size_t>(k / kQK) * kQ8_0Bytes;
        case DType::Q4_1: case DType::Q5_1: return static_cast<size_t>(k / kQK) * kQ8_1Bytes;
        case DType::Q4_K: case DType::Q5_K: case DType::Q6_K: return static_cast<size_t>(k / kQKK) * kQ8_KBytes;
        default: throw std::invalid_argument("apr::cuda::activation_row_bytes: unsupported weight type");
    }
}

void quantize_activations(DType t, const float* x, int64_t rows, int64_t k, void* act, Stream s) {
    auto* out = static_cast<uint8_t*>(act);
    auto grid = [](int64_t blocks) { return static_cast<unsigned>((blocks * 32 + 127) / 128); };
    switch (t) {
        case DType::F32: case DType::F16: case DType::BF16:
            cudaMemcpyAsync(act, x, static_cast<size_t>(rows * k) * 4, cudaMemcpyDeviceToDevice, s);
            return;
        case DType::Q8_0: case DType::Q4_0: case DType::Q5_0:
            quantize_q8_0_kernel<false><<<grid(rows * (k / kQK)), 128, 0, s>>>(x, rows, k, out);
            return;
        case DType::Q4_1: case DType::Q5_1:
            quantize_q8_0_kernel<true><<<grid(rows * (k / kQK)), 128, 0, s>>>(x, rows, k, out);
            return;
        case DType::Q4_K: case DType::Q5_K: case DType::Q6_K:
            quantize_q8_K_kernel<<<grid(rows * (k / kQKK)), 128, 0, s>>>(x, rows, k, out);
            return;
        default: throw std::invalid_argument("apr::cuda::quantize_activations: unsupported weight type");
    }
}

void matmul_quantized(DType t, const void* w, int64_t n, int64_t k, const void* act, int64_t rows, float* y, Stream s) {
    switch (t) {
        case DType::F32: return launch_f<F32W>(w, n, k, static_cast<const float*>(act), rows, y, s);
        case DType::F16: return launch_f<F16W>(w, n, k, static_cast<const float*>(act), rows, y, s);
        case DType::BF16: return launch_f<BF16W>(w, n, k, static_cast<const float*>(act), rows, y, s);
        case DType::Q4_0: return launch_q<Q4_0>(w, n, k, act, rows, y, s);
        case DType::Q4_1: return launch_q<Q4_1>(w, n, k, act, rows, y, s);
        case DType::Q5_0: return launch_q<Q5_0>(w, n, k, act, rows, y, s);
        case DType::Q5_1: return launch_q<Q5_1>(w, n, k, act, rows, y, s);
        case DType::Q8_0: return launch_q<Q8_0>(w, n, k, act, rows, y, s);
        case DType::Q4_K: return launch_q<Q4_K>(w, n, k, act, rows, y, s);
        case DType::Q5_K: return launch_q<Q5_K>(w, n, k, act, rows, y, s);
        case DType::Q6_K: return launch_q<Q6_K>(w, n, k, act, rows, y, s);
        default: throw std::invalid_argument("apr::cuda::matmul_quantized: unsupported weight type");
    }
}

}  // namespace apr::cuda
