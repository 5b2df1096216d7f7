// Per-weight-type entry points of the decode-sized products, each defined in
// its own translation unit (matmul_q4k.cu, ...) so nvcc builds them in
// parallel; matmul.cu dispatches on the type. Plain C++.
#pragma once

#include <cstdint>

#include "cuda/kernels.hpp"

namespace apr::cuda::mm {

constexpr int kWarpsPerBlock = 4;  // threads per block / 32
constexpr int kTile = 8;           // tokens per launch row-tile of a prompt batch

// Grouped decode products: the rows of up to kMaxGroup weights laid end to
// end over the grid; for SwiGLU job 0 is gate and j[1] names up, one warp
// computes row o of both and writes silu(g) * u to job 0's output.
struct Jobs {
    MatmulJob j[kMaxGroup];
    int count;
    int start[kMaxGroup + 1];  // first global row of each job
};

#define APR_MATMUL_DECLARE(X)                                                                                  \
    void q_##X(const void* w, int64_t n, int64_t k, const void* act, int64_t rows, float* y, Stream s);       \
    void group_##X(const Jobs& jobs, int64_t k, const void* act, int64_t rows, bool accumulate, Stream s);    \
    void swiglu_##X(const Jobs& jobs, int64_t k, const void* act, int64_t rows, Stream s);
APR_MATMUL_DECLARE(Q4_0)
APR_MATMUL_DECLARE(Q4_1)
APR_MATMUL_DECLARE(Q5_0)
APR_MATMUL_DECLARE(Q5_1)
APR_MATMUL_DECLARE(Q8_0)
APR_MATMUL_DECLARE(Q4_K)
APR_MATMUL_DECLARE(Q5_K)
APR_MATMUL_DECLARE(Q6_K)
#undef APR_MATMUL_DECLARE

}  // namespace apr::cuda::mm
