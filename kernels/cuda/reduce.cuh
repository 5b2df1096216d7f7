// Block-wide reductions shared by the CUDA kernels (ops.cu, matvec.cu): one
// definition, so every kernel that sums the same values in a block gets the
// same bits.
#pragma once

namespace apr::cuda {

// Block-wide sum of a double (blockDim.x a multiple of 32, at most 1024):
// each warp's butterfly, then the first warp's over the warps' sums. Every
// thread of the block must call it (barriers); all get the sum.
__device__ inline double block_sum(double v) {
    __shared__ double partial[32];
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    const int warps = blockDim.x / 32;
    v = lane < warps ? partial[lane] : 0.0;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    __syncthreads();
    return v;
}

}  // namespace apr::cuda
