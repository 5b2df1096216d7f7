// Decode-sized products for Q6_K weights (matmul_impl.cuh).
#include "cuda/matmul_impl.cuh"

APR_MATMUL_ENTRIES(Q6_K)
