// Decode-sized products for Q4_K weights (matmul_impl.cuh).
#include "cuda/matmul_impl.cuh"

APR_MATMUL_ENTRIES(Q4_K)
