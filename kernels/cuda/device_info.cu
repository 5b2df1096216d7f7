// Device discovery for the CUDA backend. The first kernel libapr ships: it
// proves at build time (CI) that nvcc compiles our code, and at run time that
// a device can execute it.
#include "cuda/device_info.h"

#include <cuda_runtime.h>
#include <sys/stat.h>

#include <cstdio>

namespace {

__global__ void add_one_kernel(int* values, int n) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) values[i] += 1;
}

}  // namespace

namespace {

bool path_exists(const char* path) {
    struct stat st;
    return ::stat(path, &st) == 0;
}

// Whether the NVIDIA kernel driver is loaded: without it a failed query
// only means "no GPU here"; with it, a failure is a real fault to report.
bool nvidia_driver_present() { return path_exists("/proc/driver/nvidia/version") || path_exists("/dev/nvidiactl"); }

}  // namespace

extern "C" int apr_cuda_device_query(int* count, char* message, unsigned long size) {
    int found = 0;
    const cudaError_t err = cudaGetDeviceCount(&found);
    if (count != nullptr) *count = err == cudaSuccess ? found : 0;
    if (message != nullptr && size > 0) message[0] = '\0';
    if (err == cudaSuccess) return 0;
    const bool no_gpu = err == cudaErrorNoDevice ||
                        ((err == cudaErrorInsufficientDriver || err == cudaErrorInitializationError) &&
                         !nvidia_driver_present());
    if (no_gpu) return 0;
    if (message != nullptr && size > 0)
        std::snprintf(message, size, "cudaGetDeviceCount failed: %s (%s)", cudaGetErrorName(err),
                      cudaGetErrorString(err));
    return -1;
}

extern "C" int apr_cuda_device_count(void) {
    int count = 0;
    return apr_cuda_device_query(&count, nullptr, 0) == 0 ? count : 0;
}

extern "C" int apr_cuda_smoke_test(int n, int* out_sum) {
    if (n <= 0 || out_sum == nullptr) return -1;
    int* device_values = nullptr;
    if (cudaMalloc(&device_values, sizeof(int) * n) != cudaSuccess) return -2;
    int status = 0;
    if (cudaMemset(device_values, 0, sizeof(int) * n) != cudaSuccess) status = -3;
    if (status == 0) {
        add_one_kernel<<<(n + 255) / 256, 256>>>(device_values, n);
        if (cudaDeviceSynchronize() != cudaSuccess) status = -4;
    }
    int* host_values = new int[n];
    if (status == 0 &&
        cudaMemcpy(host_values, device_values, sizeof(int) * n, cudaMemcpyDeviceToHost) != cudaSuccess)
        status = -5;
    if (status == 0) {
        int sum = 0;
        for (int i = 0; i < n; ++i) sum += host_values[i];
        *out_sum = sum;
    }
    delete[] host_values;
    cudaFree(device_values);
    return status;
}
