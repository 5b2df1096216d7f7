// Decode-sized products for Q5_0 and Q5_1 weights (matmul_impl.cuh).
#include "cuda/matmul_impl.cuh"

APR_MATMUL_ENTRIES(Q5_0)
APR_MATMUL_ENTRIES(Q5_1)
