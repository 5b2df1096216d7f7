// Decode-sized products for Q8_0 weights (matmul_impl.cuh).
#include "cuda/matmul_impl.cuh"

APR_MATMUL_ENTRIES(Q8_0)
