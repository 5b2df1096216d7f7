// Matrix products on the GPU straight from the stored weight blocks.
//
// Activation quantizers (f32 -> Q8_0 / Q8_1 / Q8_K) repeat the CPU's
// reference arithmetic operation for operation, so their bytes equal the
// CPU's. Products (matmul_impl.cuh, one translation unit per weight type):
// one to four warps per output row; their lanes take the row's "items" (a
// slice of a block: 64 values of Q4_K/Q5_K, 32 of Q6_K, one 32-value block
// of the legacy types) in turn, each item an int8 dot product (dp4a) of
// unpacked weight nibbles with the quantized activations, scaled once. A
// launch handles up to kTile tokens per weight row read, so prompt batches
// read each weight row once per kTile tokens.
#include <cuda_runtime.h>

#include <stdexcept>

#include "cuda/blocks.cuh"
#include "cuda/quantize.cuh"
#include "cuda/kernels.hpp"
#include "cuda/matmul_entries.hpp"
#include "cuda/pdl.cuh"

namespace apr::cuda {
namespace {

constexpr int kWarpsPerBlock = mm::kWarpsPerBlock;
constexpr int kTile = mm::kTile;

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// ---- activation quantizers -----------------------------------------------------

// One warp per 32-value block; lane = value. WithSum: Q8_1 (s = d * sum q).
template <bool WithSum>
__global__ void quantize_q8_0_kernel(const float* __restrict__ x, int64_t rows, int64_t k, uint8_t* __restrict__ out) {
    pdl_wait();
    pdl_release();
    const int64_t nb = k / kQK;
    const int64_t block = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
    const int lane = threadIdx.x % 32;
    if (block >= rows * nb) return;
    const int64_t r = block / nb, b = block % nb;
    quantize_q8_0_warp<WithSum>(x[r * k + b * kQK + lane], lane, out + (r * nb + b) * (WithSum ? kQ8_1Bytes : kQ8_0Bytes));
}

// One warp per 256-value block; lane l holds values 8l..8l+7.
__global__ void quantize_q8_K_kernel(const float* __restrict__ x, int64_t rows, int64_t k, uint8_t* __restrict__ out) {
    pdl_wait();
    pdl_release();
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
template <bool Swiglu>
void dispatch_group(DType t, const mm::Jobs& jobs, int64_t k, const void* act, int64_t rows, bool accumulate, Stream s) {
    switch (t) {
#define APR_CASE(X) \
        case DType::X: return Swiglu ? mm::swiglu_##X(jobs, k, act, rows, s) : mm::group_##X(jobs, k, act, rows, accumulate, s);
        APR_CASE(Q4_0) APR_CASE(Q4_1) APR_CASE(Q5_0) APR_CASE(Q5_1) APR_CASE(Q8_0) APR_CASE(Q4_K) APR_CASE(Q5_K) APR_CASE(Q6_K)
#undef APR_CASE
        default: throw std::invalid_argument("apr::cuda::matmul_group: a quantized weight type is needed");
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
    mm::Jobs jobs{};
    jobs.count = count;
    for (int i = 0; i < count; ++i) {
        jobs.j[i] = list[i];
        jobs.start[i + 1] = jobs.start[i] + static_cast<int>(list[i].n);
    }
    dispatch_group<false>(t, jobs, k, act, rows, accumulate, s);
}

void matmul_swiglu(DType t, const void* gate, const void* up, int64_t n, int64_t k, const void* act, int64_t rows,
                   float* out, Stream s) {
    mm::Jobs jobs{};
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
    auto grid = [](int64_t blocks) { return dim3(static_cast<unsigned>((blocks * 32 + 127) / 128)); };
    switch (t) {
        case DType::F32: case DType::F16: case DType::BF16:
            cudaMemcpyAsync(act, x, static_cast<size_t>(rows * k) * 4, cudaMemcpyDeviceToDevice, s);
            return;
        case DType::Q8_0: case DType::Q4_0: case DType::Q5_0:
            launch_pdl(quantize_q8_0_kernel<false>, grid(rows * (k / kQK)), dim3(128), 0, s, x, rows, k, out);
            return;
        case DType::Q4_1: case DType::Q5_1:
            launch_pdl(quantize_q8_0_kernel<true>, grid(rows * (k / kQK)), dim3(128), 0, s, x, rows, k, out);
            return;
        case DType::Q4_K: case DType::Q5_K: case DType::Q6_K:
            launch_pdl(quantize_q8_K_kernel, grid(rows * (k / kQKK)), dim3(128), 0, s, x, rows, k, out);
            return;
        default: throw std::invalid_argument("apr::cuda::quantize_activations: unsupported weight type");
    }
}

void matmul_quantized(DType t, const void* w, int64_t n, int64_t k, const void* act, int64_t rows, float* y, Stream s) {
    switch (t) {
        case DType::F32: return launch_f<F32W>(w, n, k, static_cast<const float*>(act), rows, y, s);
        case DType::F16: return launch_f<F16W>(w, n, k, static_cast<const float*>(act), rows, y, s);
        case DType::BF16: return launch_f<BF16W>(w, n, k, static_cast<const float*>(act), rows, y, s);
        case DType::Q4_0: return mm::q_Q4_0(w, n, k, act, rows, y, s);
        case DType::Q4_1: return mm::q_Q4_1(w, n, k, act, rows, y, s);
        case DType::Q5_0: return mm::q_Q5_0(w, n, k, act, rows, y, s);
        case DType::Q5_1: return mm::q_Q5_1(w, n, k, act, rows, y, s);
        case DType::Q8_0: return mm::q_Q8_0(w, n, k, act, rows, y, s);
        case DType::Q4_K: return mm::q_Q4_K(w, n, k, act, rows, y, s);
        case DType::Q5_K: return mm::q_Q5_K(w, n, k, act, rows, y, s);
        case DType::Q6_K: return mm::q_Q6_K(w, n, k, act, rows, y, s);
        default: throw std::invalid_argument("apr::cuda::matmul_quantized: unsupported weight type");
    }
}

}  // namespace apr::cuda
