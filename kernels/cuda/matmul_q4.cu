// Decode-sized products for Q4_0 and Q4_1 weights (matmul_impl.cuh).
#include "cuda/matmul_impl.cuh"

APR_MATMUL_ENTRIES(Q4_0)
APR_MATMUL_ENTRIES(Q4_1)
