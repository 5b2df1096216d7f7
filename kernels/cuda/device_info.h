// C-linkage entry points of the CUDA kernels library (kernels/cuda).
// Declared here so host code compiled by g++ can call into nvcc's objects.
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

// Number of usable CUDA devices; 0 when no driver or device is present, and
// also 0 when the query failed (use apr_cuda_device_query to tell apart).
int apr_cuda_device_count(void);

// Asks the CUDA runtime for its devices. Returns 0 and sets *count (0 means
// this machine has no NVIDIA GPU or driver at all: nothing to run on). Returns
// -1 when the query itself failed on a machine that has an NVIDIA driver (a
// broken or mismatched driver, a device in a bad state): then *count is 0 and
// `message` (of `size` bytes, may be NULL) holds the CUDA error's name and
// text. Tests skip on the first and fail on the second.
int apr_cuda_device_query(int* count, char* message, unsigned long size);

// Runs a trivial kernel that adds one to n zeros and returns their sum in
// *out_sum (n on success). Returns 0 on success, a negative step number on
// failure. Used by tests to prove a device executes our code.
int apr_cuda_smoke_test(int n, int* out_sum);

// The current device's measured peaks (--profile on the GPU): read
// bandwidth over 1 GiB (GB/s), f16 tensor-core multiply-add rate with f32
// accumulation (GFLOP/s), its L2 size and name. About a quarter of a second;
// takes 1 GiB of device memory while it runs. Returns 0, or -1 with the CUDA
// error in `message` (of `size` bytes, may be NULL).
typedef struct AprCudaPeaks {
    char name[256];
    double read_gbs;
    double f16_gflops;
    long long l2_bytes;
    int multiprocessors;     // for sanity bounds on the measured rate
    int max_clock_khz;
    int compute_major, compute_minor;
} AprCudaPeaks;
int apr_cuda_measure_peaks(AprCudaPeaks* peaks, char* message, unsigned long size);
// Fills only the name and L2 size (no measurement, no memory taken).
int apr_cuda_describe_device(AprCudaPeaks* peaks, char* message, unsigned long size);

#ifdef __cplusplus
}
#endif
