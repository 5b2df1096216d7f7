// C-linkage entry points of the CUDA kernels library (kernels/cuda).
// Declared here so host code compiled by g++ can call into nvcc's objects.
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

// Number of usable CUDA devices; 0 when no driver or device is present.
int apr_cuda_device_count(void);

// Runs a trivial kernel that adds one to n zeros and returns their sum in
// *out_sum (n on success). Returns 0 on success, a negative step number on
// failure. Used by tests to prove a device executes our code.
int apr_cuda_smoke_test(int n, int* out_sum);

#ifdef __cplusplus
}
#endif
