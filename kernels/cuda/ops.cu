// Row and element-wise ops of the forward pass on the GPU. Arithmetic that
// the CPU does in a fixed order is written with __fmul_rn / __fadd_rn so nvcc
// does not fuse it into FMAs: embedding rows come out bit-identical to the
// CPU's dequantizer, the rest within f32 rounding.
#include <cuda_runtime.h>

#include <cfloat>
#include <stdexcept>

#include "cuda/blocks.cuh"
#include "cuda/quantize.cuh"
#include "cuda/kernels.hpp"
#include "cuda/pdl.cuh"
#include "cuda/reduce.cuh"
#include "cuda/rope.cuh"

namespace apr::cuda {
namespace {

// Value i of a row of `type` (lib/quant/dequantize.cpp's arithmetic).
template <DType T>
__device__ float dequant_value(const uint8_t* row, int64_t i) {
    if constexpr (T == DType::F32) {
        return reinterpret_cast<const float*>(row)[i];
    } else if constexpr (T == DType::F16) {
        return half_bits_to_float(reinterpret_cast<const uint16_t*>(row)[i]);
    } else if constexpr (T == DType::BF16) {
        return __uint_as_float(static_cast<uint32_t>(reinterpret_cast<const uint16_t*>(row)[i]) << 16);
    } else if constexpr (T == DType::Q8_0) {
        const uint8_t* b = row + (i / kQK) * kQ8_0Bytes;
        return __fmul_rn(static_cast<float>(reinterpret_cast<const int8_t*>(b + 2)[i % kQK]), half_bits_to_float(ld_u16(b)));
    } else if constexpr (T == DType::Q4_0 || T == DType::Q4_1) {
        constexpr int bytes = T == DType::Q4_0 ? kQ4_0Bytes : kQ4_1Bytes;
        constexpr int qs = T == DType::Q4_0 ? 2 : 4;
        const uint8_t* b = row + (i / kQK) * bytes;
        const int j = static_cast<int>(i % kQK);
        const int q = j < 16 ? (b[qs + j] & 0x0f) : (b[qs + j - 16] >> 4);
        const float d = half_bits_to_float(ld_u16(b));
        if constexpr (T == DType::Q4_0) return __fmul_rn(static_cast<float>(q - 8), d);
        else return __fadd_rn(__fmul_rn(static_cast<float>(q), d), half_bits_to_float(ld_u16(b + 2)));
    } else if constexpr (T == DType::Q5_0 || T == DType::Q5_1) {
        constexpr int bytes = T == DType::Q5_0 ? kQ5_0Bytes : kQ5_1Bytes;
        constexpr int qh_at = T == DType::Q5_0 ? 2 : 4;
        const uint8_t* b = row + (i / kQK) * bytes;
        const int j = static_cast<int>(i % kQK);
        const uint32_t qh = b[qh_at] | (b[qh_at + 1] << 8) | (b[qh_at + 2] << 16) | (static_cast<uint32_t>(b[qh_at + 3]) << 24);
        const uint8_t* q = b + qh_at + 4;
        const int v = (j < 16 ? (q[j] & 0x0f) : (q[j - 16] >> 4)) | static_cast<int>(((qh >> j) & 1u) << 4);
        const float d = half_bits_to_float(ld_u16(b));
        if constexpr (T == DType::Q5_0) return __fmul_rn(static_cast<float>(v - 16), d);
        else return __fadd_rn(__fmul_rn(static_cast<float>(v), d), half_bits_to_float(ld_u16(b + 2)));
    } else if constexpr (T == DType::Q4_K || T == DType::Q5_K) {
        constexpr int bytes = T == DType::Q4_K ? kQ4_KBytes : kQ5_KBytes;
        const uint8_t* b = row + (i / kQKK) * bytes;
        const int j = static_cast<int>(i % kQKK);
        const int sub = j / 32, l = j % 32;
        int sc, m;
        k4_scale_min(b + 4, sub, sc, m);
        const uint8_t* qs = b + (T == DType::Q4_K ? 16 : 48) + (sub / 2) * 32;
        int q = sub % 2 == 0 ? (qs[l] & 0x0f) : (qs[l] >> 4);
        if constexpr (T == DType::Q5_K) q += (b[16 + l] >> sub) & 1 ? 16 : 0;
        const float d = half_bits_to_float(ld_u16(b)), dmin = half_bits_to_float(ld_u16(b + 2));
        return __fsub_rn(__fmul_rn(__fmul_rn(d, static_cast<float>(sc)), static_cast<float>(q)),
                         __fmul_rn(dmin, static_cast<float>(m)));
    } else {  // Q6_K
        const uint8_t* b = row + (i / kQKK) * kQ6_KBytes;
        const int j = static_cast<int>(i % kQKK);
        const int half = j / 128, quarter = (j % 128) / 32, l = j % 32;
        const uint8_t ql = b[half * 64 + (quarter & 1) * 32 + l];
        const uint8_t qh = b[128 + half * 32 + l];
        const int q = ((quarter < 2 ? (ql & 0x0f) : (ql >> 4)) | (((qh >> (2 * quarter)) & 3) << 4)) - 32;
        const int sc = reinterpret_cast<const int8_t*>(b + 192)[half * 8 + 2 * quarter + l / 16];
        const float d = half_bits_to_float(ld_u16(b + 208));
        return __fmul_rn(__fmul_rn(d, static_cast<float>(sc)), static_cast<float>(q));
    }
}

template <DType T>
__global__ void get_rows_kernel(const uint8_t* __restrict__ table, size_t row_bytes, int64_t cols,
                                const int32_t* __restrict__ ids, float* __restrict__ y) {
    const int64_t r = blockIdx.y;
    const uint8_t* row = table + static_cast<size_t>(ids[r]) * row_bytes;
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < cols;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x)
        y[r * cols + i] = dequant_value<T>(row, i);
}

template <DType T>
void launch_get_rows(const void* table, int64_t cols, const int32_t* ids, int64_t rows, float* y, Stream s) {
    const size_t row_bytes = dtype_bytes(T, cols);
    const unsigned gx = static_cast<unsigned>(std::min<int64_t>((cols + 255) / 256, 64));
    get_rows_kernel<T><<<dim3(gx, static_cast<unsigned>(rows)), 256, 0, s>>>(static_cast<const uint8_t*>(table),
                                                                             row_bytes, cols, ids, y);
}

// 1 / sqrt(mean(x^2) + eps) of one row, the block's threads summing in
// double in rmsnorm's order (i = thread, thread + blockDim, ...; block_sum),
// so the CPU's bits. A thread's loads are issued together before it adds
// them in that order: one trip to memory for a 1,536-value row instead of
// six (rmsnorm_quantize took 6.0-6.3 us a call on the H200 before).
__device__ float rms_scale(const float* __restrict__ xr, int64_t cols, float eps) {
    double sum = 0.0;
    constexpr int kLoads = 8;
    for (int64_t i0 = threadIdx.x; i0 < cols; i0 += kLoads * blockDim.x) {
        float v[kLoads];
#pragma unroll
        for (int j = 0; j < kLoads; ++j) {
            const int64_t i = i0 + j * static_cast<int64_t>(blockDim.x);
            v[j] = i < cols ? xr[i] : 0.0f;
        }
#pragma unroll
        for (int j = 0; j < kLoads; ++j)
            if (i0 + j * static_cast<int64_t>(blockDim.x) < cols) sum += static_cast<double>(__fmul_rn(v[j], v[j]));
    }
    sum = block_sum(sum);
    const float mean = static_cast<float>(sum / static_cast<double>(cols));
    return 1.0f / sqrtf(mean + eps);
}

// One block per row.
__global__ void rmsnorm_kernel(const float* __restrict__ x, const float* __restrict__ w, float eps, int64_t cols,
                               float* y) {
    const float* xr = x + blockIdx.x * cols;
    float* yr = y + blockIdx.x * cols;
    const float scale = rms_scale(xr, cols, eps);
    for (int64_t i = threadIdx.x; i < cols; i += blockDim.x) yr[i] = __fmul_rn(__fmul_rn(xr[i], scale), w[i]);
}

// rmsnorm, then each warp quantizes whole blocks of the normalized row.
// Kind: 0 = Q8_0, 1 = Q8_1, 2 = Q8_K.
template <int Kind>
__global__ void rmsnorm_quantize_kernel(const float* __restrict__ x, const float* __restrict__ w, float eps, int64_t cols,
                                        float* y, uint8_t* __restrict__ act) {
    pdl_wait();
    pdl_release();
    const float* xr = x + blockIdx.x * cols;
    float* yr = y + blockIdx.x * cols;
    const float scale = rms_scale(xr, cols, eps);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
    constexpr int values = Kind == 2 ? kQKK : kQK;
    constexpr int bytes = Kind == 0 ? kQ8_0Bytes : Kind == 1 ? kQ8_1Bytes : kQ8_KBytes;
    const int64_t nb = cols / values;
    uint8_t* ar = act + blockIdx.x * nb * bytes;
    for (int64_t b = warp; b < nb; b += warps) {
        if constexpr (Kind == 2) {
            float v[8];
#pragma unroll
            for (int j = 0; j < 8; ++j) {
                const int64_t i = b * kQKK + lane * 8 + j;
                v[j] = __fmul_rn(__fmul_rn(xr[i], scale), w[i]);
                yr[i] = v[j];
            }
            quantize_q8_K_warp(v, lane, ar + b * bytes);
        } else {
            const int64_t i = b * kQK + lane;
            const float v = __fmul_rn(__fmul_rn(xr[i], scale), w[i]);
            yr[i] = v;
            quantize_q8_0_warp<Kind == 1>(v, lane, ar + b * bytes);
        }
    }
}

__global__ void rope_qk_kernel(float* q, float* k, const int32_t* __restrict__ positions, int64_t heads,
                               int64_t kv_heads, int64_t head_dim, const float* __restrict__ inv_freq, bool neox) {
    const int64_t r = blockIdx.x;
    const int64_t half = head_dim / 2;
    const float pos = static_cast<float>(positions[r]);
    for (int64_t t = threadIdx.x; t < (heads + kv_heads) * half; t += blockDim.x) {
        const int64_t h = t / half, i = t % half;
        float* head = h < heads ? q + (r * heads + h) * head_dim : k + (r * kv_heads + (h - heads)) * head_dim;
        float s, c;
        rope_angle(pos, inv_freq[i], s, c);
        rope_pair(head, head, static_cast<int>(i), static_cast<int>(half), neox, s, c);
    }
}

__global__ void add_bias_kernel(float* y, const float* __restrict__ b, int64_t rows, int64_t cols) {
    const int64_t n = rows * cols;
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x)
        y[i] += b[i % cols];
}

// One block per row; a thread per (head, pair).
__global__ void rope_kernel(float* x, const int32_t* __restrict__ positions, int64_t heads, int64_t head_dim,
                            const float* __restrict__ inv_freq, bool neox) {
    const int64_t r = blockIdx.x;
    const int64_t half = head_dim / 2;
    const float pos = static_cast<float>(positions[r]);
    for (int64_t t = threadIdx.x; t < heads * half; t += blockDim.x) {
        const int64_t h = t / half, i = t % half;
        float* head = x + (r * heads + h) * head_dim;
        float s, c;
        rope_angle(pos, inv_freq[i], s, c);
        rope_pair(head, head, static_cast<int>(i), static_cast<int>(half), neox, s, c);
    }
}

__global__ void swiglu_kernel(const float* gate, const float* up, int64_t n, float* y) {
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const float g = gate[i];
        y[i] = __fmul_rn(g / (1.0f + expf(-g)), up[i]);
    }
}

__global__ void add_kernel(float* y, const float* x, int64_t n) {
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x)
        y[i] += x[i];
}

__global__ void gather_rows_kernel(const float* __restrict__ src, const int32_t* __restrict__ rows, int64_t cols,
                                   float* __restrict__ dst) {
    const int64_t r = blockIdx.x;
    const float* s = src + static_cast<int64_t>(rows[r]) * cols;
    for (int64_t i = threadIdx.x; i < cols; i += blockDim.x) dst[r * cols + i] = s[i];
}

// Largest value, lowest index on ties; NaN never wins (comparisons with NaN
// are false). A thread's candidates, then its warp's, then its block's.
struct Best {
    float v;
    int32_t i;
};

__device__ __forceinline__ Best better(Best a, Best b) {
    return (b.v > a.v || (b.v == a.v && b.i < a.i)) ? b : a;
}

__device__ Best block_best(Best b) {
    for (int o = 16; o > 0; o >>= 1) {
        const Best other{__shfl_xor_sync(0xffffffffu, b.v, o), __shfl_xor_sync(0xffffffffu, b.i, o)};
        b = better(b, other);
    }
    __shared__ float sb[32];
    __shared__ int32_t si[32];
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    if (lane == 0) {
        sb[warp] = b.v;
        si[warp] = b.i;
    }
    __syncthreads();
    const int warps = blockDim.x / 32;
    b = lane < warps ? Best{sb[lane], si[lane]} : Best{-FLT_MAX, 0x7fffffff};
    for (int o = 16; o > 0; o >>= 1) {
        const Best other{__shfl_xor_sync(0xffffffffu, b.v, o), __shfl_xor_sync(0xffffffffu, b.i, o)};
        b = better(b, other);
    }
    return b;  // valid in every lane of every warp
}

// Blocks of kArgmaxBlocks per row each take a slice of the row and leave
// their best in scratch; the last block of the row to finish (an atomic
// counter, reset to zero afterwards) reduces them.
constexpr int kArgmaxBlocks = 64;
constexpr int kArgmaxThreads = 256;

__global__ void __launch_bounds__(kArgmaxThreads)
    argmax_kernel(const float* __restrict__ x, int64_t n, int32_t* out, float* best_v, int32_t* best_i, int* counters) {
    pdl_wait();
    pdl_release();
    const int64_t r = blockIdx.y;
    const float* xr = x + r * n;
    const int64_t per = (n + kArgmaxBlocks - 1) / kArgmaxBlocks;
    const int64_t begin = blockIdx.x * per, end = min(n, begin + per);
    Best b{-FLT_MAX, 0x7fffffff};
    for (int64_t i0 = begin + threadIdx.x; i0 < end; i0 += 4 * kArgmaxThreads) {
        float v[4];
#pragma unroll
        for (int u = 0; u < 4; ++u) {
            const int64_t i = i0 + u * kArgmaxThreads;
            v[u] = i < end ? xr[i] : -FLT_MAX;
        }
#pragma unroll
        for (int u = 0; u < 4; ++u) {
            const int64_t i = i0 + u * kArgmaxThreads;
            if (i < end && v[u] > b.v) b = Best{v[u], static_cast<int32_t>(i)};
        }
    }
    b = block_best(b);
    __shared__ int last;
    if (threadIdx.x == 0) {
        best_v[r * kArgmaxBlocks + blockIdx.x] = b.v;
        best_i[r * kArgmaxBlocks + blockIdx.x] = b.i;
        __threadfence();
        last = atomicAdd(&counters[r], 1) == kArgmaxBlocks - 1;
    }
    __syncthreads();
    if (!last) return;
    __threadfence();
    Best f{-FLT_MAX, 0x7fffffff};
    for (int k = threadIdx.x; k < kArgmaxBlocks; k += blockDim.x)
        f = better(f, Best{__ldcg(best_v + r * kArgmaxBlocks + k), __ldcg(best_i + r * kArgmaxBlocks + k)});
    f = block_best(f);
    if (threadIdx.x == 0) {
        out[r] = f.i == 0x7fffffff ? 0 : f.i;
        counters[r] = 0;
    }
}

// Rows [row0, row0 + rows), columns [col0, col0 + cols) of a weight as f16,
// row-major with `cols` values per row.
template <DType T>
__global__ void dequantize_f16_kernel(const uint8_t* __restrict__ w, size_t row_bytes, int64_t row0, int64_t rows,
                                      int64_t col0, int64_t cols, uint16_t* __restrict__ out) {
    const int64_t n = rows * cols;
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int64_t r = i / cols, c = i % cols;
        out[i] = float_to_half_bits(dequant_value<T>(w + static_cast<size_t>(row0 + r) * row_bytes, col0 + c));
    }
}

template <DType T>
void launch_dequantize_f16(const void* w, int64_t k, int64_t row0, int64_t rows, int64_t col0, int64_t cols,
                           uint16_t* out, Stream s) {
    const int64_t n = rows * cols;
    const unsigned grid = static_cast<unsigned>(std::min<int64_t>((n + 255) / 256, 132 * 16));
    dequantize_f16_kernel<T><<<grid, 256, 0, s>>>(static_cast<const uint8_t*>(w), dtype_bytes(T, k), row0, rows, col0,
                                                  cols, out);
}

__global__ void to_f16_kernel(const float* __restrict__ x, int64_t n, uint16_t* __restrict__ out) {
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x)
        out[i] = float_to_half_bits(x[i]);
}

// Columns [col0, col0 + cols) of a rows x k matrix as f16, `cols` per row.
__global__ void to_f16_cols_kernel(const float* __restrict__ x, int64_t rows, int64_t k, int64_t col0, int64_t cols,
                                   uint16_t* __restrict__ out) {
    const int64_t n = rows * cols;
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x)
        out[i] = float_to_half_bits(x[(i / cols) * k + col0 + i % cols]);
}

unsigned elementwise_grid(int64_t n) { return static_cast<unsigned>(std::min<int64_t>((n + 255) / 256, 4096)); }

}  // namespace

void get_rows(DType type, const void* table, int64_t cols, const int32_t* ids, int64_t rows, float* y, Stream s) {
    if (rows == 0) return;
    switch (type) {
        case DType::F32: return launch_get_rows<DType::F32>(table, cols, ids, rows, y, s);
        case DType::F16: return launch_get_rows<DType::F16>(table, cols, ids, rows, y, s);
        case DType::BF16: return launch_get_rows<DType::BF16>(table, cols, ids, rows, y, s);
        case DType::Q4_0: return launch_get_rows<DType::Q4_0>(table, cols, ids, rows, y, s);
        case DType::Q4_1: return launch_get_rows<DType::Q4_1>(table, cols, ids, rows, y, s);
        case DType::Q5_0: return launch_get_rows<DType::Q5_0>(table, cols, ids, rows, y, s);
        case DType::Q5_1: return launch_get_rows<DType::Q5_1>(table, cols, ids, rows, y, s);
        case DType::Q8_0: return launch_get_rows<DType::Q8_0>(table, cols, ids, rows, y, s);
        case DType::Q4_K: return launch_get_rows<DType::Q4_K>(table, cols, ids, rows, y, s);
        case DType::Q5_K: return launch_get_rows<DType::Q5_K>(table, cols, ids, rows, y, s);
        case DType::Q6_K: return launch_get_rows<DType::Q6_K>(table, cols, ids, rows, y, s);
        default: throw std::invalid_argument("apr::cuda::get_rows: unsupported table type");
    }
}

void dequantize_f16(DType type, const void* w, int64_t k, int64_t row0, int64_t rows, int64_t col0, int64_t cols,
                    uint16_t* out, Stream s) {
    if (rows * cols == 0) return;
    if (col0 < 0 || cols < 0 || col0 + cols > k) throw std::invalid_argument("apr::cuda::dequantize_f16: columns out of range");
    switch (type) {
        case DType::F32: return launch_dequantize_f16<DType::F32>(w, k, row0, rows, col0, cols, out, s);
        case DType::F16: return launch_dequantize_f16<DType::F16>(w, k, row0, rows, col0, cols, out, s);
        case DType::BF16: return launch_dequantize_f16<DType::BF16>(w, k, row0, rows, col0, cols, out, s);
        case DType::Q4_0: return launch_dequantize_f16<DType::Q4_0>(w, k, row0, rows, col0, cols, out, s);
        case DType::Q4_1: return launch_dequantize_f16<DType::Q4_1>(w, k, row0, rows, col0, cols, out, s);
        case DType::Q5_0: return launch_dequantize_f16<DType::Q5_0>(w, k, row0, rows, col0, cols, out, s);
        case DType::Q5_1: return launch_dequantize_f16<DType::Q5_1>(w, k, row0, rows, col0, cols, out, s);
        case DType::Q8_0: return launch_dequantize_f16<DType::Q8_0>(w, k, row0, rows, col0, cols, out, s);
        case DType::Q4_K: return launch_dequantize_f16<DType::Q4_K>(w, k, row0, rows, col0, cols, out, s);
        case DType::Q5_K: return launch_dequantize_f16<DType::Q5_K>(w, k, row0, rows, col0, cols, out, s);
        case DType::Q6_K: return launch_dequantize_f16<DType::Q6_K>(w, k, row0, rows, col0, cols, out, s);
        default: throw std::invalid_argument("apr::cuda::dequantize_f16: unsupported type");
    }
}

void to_f16(const float* x, int64_t n, uint16_t* out, Stream s) {
    if (n > 0) to_f16_kernel<<<elementwise_grid(n), 256, 0, s>>>(x, n, out);
}

void to_f16_cols(const float* x, int64_t rows, int64_t k, int64_t col0, int64_t cols, uint16_t* out, Stream s) {
    if (rows * cols > 0) to_f16_cols_kernel<<<elementwise_grid(rows * cols), 256, 0, s>>>(x, rows, k, col0, cols, out);
}

void rmsnorm(const float* x, const float* w, float eps, int64_t rows, int64_t cols, float* y, Stream s) {
    if (rows > 0) rmsnorm_kernel<<<static_cast<unsigned>(rows), 256, 0, s>>>(x, w, eps, cols, y);
}

void rmsnorm_quantize(const float* x, const float* w, float eps, int64_t rows, int64_t cols, float* y, DType weight,
                      void* act, Stream s) {
    if (rows == 0) return;
    auto* a = static_cast<uint8_t*>(act);
    const dim3 grid(static_cast<unsigned>(rows)), block(256);
    switch (weight) {
        case DType::Q8_0: case DType::Q4_0: case DType::Q5_0:
            return launch_pdl(rmsnorm_quantize_kernel<0>, grid, block, 0, s, x, w, eps, cols, y, a);
        case DType::Q4_1: case DType::Q5_1:
            return launch_pdl(rmsnorm_quantize_kernel<1>, grid, block, 0, s, x, w, eps, cols, y, a);
        case DType::Q4_K: case DType::Q5_K: case DType::Q6_K:
            return launch_pdl(rmsnorm_quantize_kernel<2>, grid, block, 0, s, x, w, eps, cols, y, a);
        default: throw std::invalid_argument("apr::cuda::rmsnorm_quantize: a quantized weight type is needed");
    }
}

void rope_qk(float* q, float* k, const int32_t* positions, int64_t rows, int64_t heads, int64_t kv_heads,
             int64_t head_dim, const float* inv_freq, bool neox, Stream s) {
    if (rows > 0)
        rope_qk_kernel<<<static_cast<unsigned>(rows), 256, 0, s>>>(q, k, positions, heads, kv_heads, head_dim, inv_freq, neox);
}

void add_bias(float* y, const float* bias, int64_t rows, int64_t cols, Stream s) {
    if (rows * cols > 0) add_bias_kernel<<<elementwise_grid(rows * cols), 256, 0, s>>>(y, bias, rows, cols);
}

void rope(float* x, const int32_t* positions, int64_t rows, int64_t heads, int64_t head_dim, const float* inv_freq,
          bool neox, Stream s) {
    if (rows > 0) rope_kernel<<<static_cast<unsigned>(rows), 256, 0, s>>>(x, positions, heads, head_dim, inv_freq, neox);
}

void swiglu(const float* gate, const float* up, int64_t n, float* y, Stream s) {
    if (n > 0) swiglu_kernel<<<elementwise_grid(n), 256, 0, s>>>(gate, up, n, y);
}

void add(float* y, const float* x, int64_t n, Stream s) {
    if (n > 0) add_kernel<<<elementwise_grid(n), 256, 0, s>>>(y, x, n);
}

void gather_rows(const float* src, const int32_t* rows, int64_t count, int64_t cols, float* dst, Stream s) {
    if (count > 0) gather_rows_kernel<<<static_cast<unsigned>(count), 256, 0, s>>>(src, rows, cols, dst);
}

size_t argmax_scratch_bytes(int64_t rows) { return static_cast<size_t>(rows) * (kArgmaxBlocks * 8 + 4); }

void argmax_rows(const float* x, int64_t rows, int64_t n, int32_t* out, void* scratch, int64_t scratch_rows, Stream s) {
    if (rows <= 0) return;
    if (scratch_rows < rows) throw std::invalid_argument("apr::cuda::argmax_rows: scratch for fewer rows than asked");
    // Counters first (zeroed once by the caller), then the blocks' values and
    // indices, laid out for the scratch's capacity, not this call's rows: a
    // layout that followed `rows` put a later, larger call's counters where
    // an earlier call left its blocks' values (seen on the H200: every id 0
    // or garbage the first time 16 rows came after single rows).
    auto* counters = static_cast<int*>(scratch);
    auto* best_v = reinterpret_cast<float*>(counters + scratch_rows);
    auto* best_i = reinterpret_cast<int32_t*>(best_v + scratch_rows * kArgmaxBlocks);
    launch_pdl(argmax_kernel, dim3(kArgmaxBlocks, static_cast<unsigned>(rows)), dim3(kArgmaxThreads), 0, s, x, n, out,
               best_v, best_i, counters);
}

}  // namespace apr::cuda
