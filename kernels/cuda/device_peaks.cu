// The card's own peaks for `--profile` on the GPU: what one device reads from
// its memory per second and how many f16 multiply-adds its tensor cores do
// per second, measured on the card (not taken from a data sheet, which the
// clocks and the memory of a given card need not reach).
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <mma.h>

#include <algorithm>
#include <cstdio>

#include "cuda/device_info.h"

namespace {

// Every thread reads 16-byte vectors in a grid-stride loop and folds them
// into one value, written only when it can never happen, so the reads
// cannot be dropped and almost nothing is written.
__global__ void read_kernel(const float4* data, size_t n, float never, float* out) {
    float acc = 0;
    for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
         i += static_cast<size_t>(gridDim.x) * blockDim.x) {
        const float4 v = __ldcs(data + i);
        acc += v.x + v.y + v.z + v.w;
    }
    if (acc == never) out[0] = acc;
}

// Each warp multiplies 16x16x16 f16 tiles held in registers, with f32
// accumulation (the prompt's GEMMs), in four independent chains so the
// tensor cores never wait for a previous result.
constexpr int kChains = 4;
__global__ void mma_kernel(int iterations, float* out) {
    using namespace nvcuda;
    wmma::fragment<wmma::matrix_a, 16, 16, 16, half, wmma::row_major> a;
    wmma::fragment<wmma::matrix_b, 16, 16, 16, half, wmma::col_major> b;
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> c[kChains];
    wmma::fill_fragment(a, __float2half(0.001f));
    wmma::fill_fragment(b, __float2half(0.001f));
    // Different starting values: chains that started equal would compute the
    // same products, and the compiler may fold them into one (it did: the
    // first version measured 1.2 PFLOP/s on an H200, above its dense f16 rate).
    for (int k = 0; k < kChains; ++k) wmma::fill_fragment(c[k], 0.25f * static_cast<float>(k + threadIdx.x % 3));
    for (int i = 0; i < iterations; ++i)
        for (auto& f : c) wmma::mma_sync(f, a, b, f);
    // Every element of every chain: the m16n16k16 product is several mma
    // instructions, each writing its own part of the fragment, and one left
    // unread is dead code the compiler drops (reading only x[0] measured
    // 1.14 PFLOP/s on an H200, above its dense f16 rate, once the chains
    // started apart).
    float s = 0;
    for (auto& f : c)
        for (int e = 0; e < f.num_elements; ++e) s += f.x[e];
    if (s == -1.0f) out[0] = s;  // never true: keeps the products alive
}

// The fastest of `reps` timed runs of `launch`, in milliseconds.
template <class Launch>
float best_ms(int reps, Launch launch) {
    cudaEvent_t start, stop;
    cudaEventCreate(&start);
    cudaEventCreate(&stop);
    float best = 1e30f;
    for (int r = 0; r < reps; ++r) {
        cudaEventRecord(start);
        launch();
        cudaEventRecord(stop);
        cudaEventSynchronize(stop);
        float ms = 0;
        cudaEventElapsedTime(&ms, start, stop);
        best = std::min(best, ms);
    }
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    return best;
}

int fail(char* message, unsigned long size, const char* step, cudaError_t err) {
    if (message != nullptr && size > 0)
        std::snprintf(message, size, "%s: %s (%s)", step, cudaGetErrorName(err), cudaGetErrorString(err));
    return -1;
}

int device_properties(cudaDeviceProp* prop, char* message, unsigned long size) {
    if (message != nullptr && size > 0) message[0] = '\0';
    int device = 0;
    cudaError_t err = cudaGetDevice(&device);
    if (err != cudaSuccess) return fail(message, size, "cudaGetDevice", err);
    if ((err = cudaGetDeviceProperties(prop, device)) != cudaSuccess)
        return fail(message, size, "cudaGetDeviceProperties", err);
    return 0;
}

}  // namespace

extern "C" int apr_cuda_describe_device(AprCudaPeaks* peaks, char* message, unsigned long size) {
    if (peaks == nullptr) return -1;
    *peaks = AprCudaPeaks{};
    cudaDeviceProp prop{};
    if (device_properties(&prop, message, size) != 0) return -1;
    std::snprintf(peaks->name, sizeof peaks->name, "%s", prop.name);
    peaks->l2_bytes = prop.l2CacheSize;
    peaks->multiprocessors = prop.multiProcessorCount;
    peaks->compute_major = prop.major;
    peaks->compute_minor = prop.minor;
    int device = 0, khz = 0;
    if (cudaGetDevice(&device) == cudaSuccess && cudaDeviceGetAttribute(&khz, cudaDevAttrClockRate, device) == cudaSuccess)
        peaks->max_clock_khz = khz;
    return 0;
}

extern "C" int apr_cuda_measure_peaks(AprCudaPeaks* peaks, char* message, unsigned long size) {
    if (apr_cuda_describe_device(peaks, message, size) != 0) return -1;
    cudaDeviceProp prop{};
    if (device_properties(&prop, message, size) != 0) return -1;
    cudaError_t err = cudaSuccess;

    // Read bandwidth: 1 GiB, far beyond the L2, read whole each run.
    const size_t bytes = size_t(1) << 30;
    float4* data = nullptr;
    float* out = nullptr;
    if ((err = cudaMalloc(&data, bytes)) != cudaSuccess) return fail(message, size, "cudaMalloc (1 GiB)", err);
    if ((err = cudaMalloc(&out, sizeof(float))) != cudaSuccess) {
        cudaFree(data);
        return fail(message, size, "cudaMalloc", err);
    }
    cudaMemset(data, 0, bytes);
    const size_t n = bytes / sizeof(float4);
    const int blocks = prop.multiProcessorCount * 8;
    read_kernel<<<blocks, 512>>>(data, n, -1.0f, out);  // warm-up
    const float read_ms = best_ms(5, [&] { read_kernel<<<blocks, 512>>>(data, n, -1.0f, out); });
    peaks->read_gbs = static_cast<double>(bytes) / (read_ms * 1e-3) / 1e9;

    // Tensor-core rate: enough warps per multiprocessor to fill every core.
    const int iterations = 4096;
    const int warps = prop.multiProcessorCount * 16;
    mma_kernel<<<warps / 4, 128>>>(64, out);  // warm-up
    const float mma_ms = best_ms(3, [&] { mma_kernel<<<warps / 4, 128>>>(iterations, out); });
    const double flops = static_cast<double>(warps) * iterations * kChains * 2.0 * 16 * 16 * 16;
    peaks->f16_gflops = flops / (mma_ms * 1e-3) / 1e9;

    err = cudaGetLastError();
    cudaFree(data);
    cudaFree(out);
    if (err != cudaSuccess) return fail(message, size, "peak kernels", err);
    return 0;
}
