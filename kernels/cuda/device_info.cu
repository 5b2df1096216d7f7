// Device discovery for the CUDA backend. The first kernel libapr ships: it
// proves at build time (CI) that nvcc compiles our code, and at run time that
// a device can execute it.
#include "cuda/device_info.h"

#include <cuda_runtime.h>

namespace {

__global__ void add_one_kernel(int* values, int n) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) values[i] += 1;
}

}  // namespace

extern "C" int apr_cuda_device_count(void) {
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) return 0;
    return count;
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
