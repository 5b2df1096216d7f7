// Warp-level activation quantizers (f32 -> Q8_0 / Q8_1 / Q8_K blocks), shared
// by the standalone quantize kernels (matmul.cu) and the fused
// rmsnorm + quantize kernel (ops.cu). They repeat the CPU reference
// quantizers operation for operation, so the bytes equal the CPU's.
#pragma once

#include "cuda/blocks.cuh"

namespace apr::cuda {

__device__ __forceinline__ int8_t round_away_to_int8(float x) {
    const float r = roundf(x);
    if (!(r == r)) return 0;
    if (r >= 127.f) return 127;
    if (r <= -128.f) return -128;
    return static_cast<int8_t>(r);
}

// One 32-value block per warp; lane = value.
template <bool WithSum>
__device__ __forceinline__ void quantize_q8_0_warp(float v, int lane, uint8_t* blk) {
    float amax = fabsf(v);
    for (int o = 16; o > 0; o >>= 1) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, o));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    const int8_t q = round_away_to_int8(v * id);
    reinterpret_cast<int8_t*>(blk + (WithSum ? 4 : 2))[lane] = q;
    int sum = q;
    if (WithSum)
        for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
    if (lane == 0) {
        reinterpret_cast<uint16_t*>(blk)[0] = float_to_half_bits(d);
        if (WithSum) reinterpret_cast<uint16_t*>(blk)[1] = float_to_half_bits(static_cast<float>(sum) * d);
    }
}

// The largest magnitude among a warp's 256 values (lane l holds 8l..8l+7 in
// v) and the value that has it: the first such value wins, as in the CPU's
// scan. Every lane gets both.
__device__ __forceinline__ void warp_first_absmax(const float (&v)[8], int lane, float& amax, float& max) {
    amax = 0.0f;
    max = 0.0f;
    int idx = 0x7fffffff;
#pragma unroll
    for (int j = 0; j < 8; ++j) {
        const float ax = fabsf(v[j]);
        if (ax > amax) {
            amax = ax;
            max = v[j];
            idx = lane * 8 + j;
        }
    }
    for (int o = 16; o > 0; o >>= 1) {
        const float oa = __shfl_xor_sync(0xffffffffu, amax, o);
        const float om = __shfl_xor_sync(0xffffffffu, max, o);
        const int oi = __shfl_xor_sync(0xffffffffu, idx, o);
        if (oa > amax || (oa == amax && oi < idx)) {
            amax = oa;
            max = om;
            idx = oi;
        }
    }
}

// One 256-value block per warp; lane l holds values 8l..8l+7 in v.
__device__ __forceinline__ void quantize_q8_K_warp(const float (&v)[8], int lane, uint8_t* blk) {
    float amax, max;
    warp_first_absmax(v, lane, amax, max);
    auto* qs = reinterpret_cast<int8_t*>(blk + kQ8_KQsAt);
    auto* bsums = reinterpret_cast<int16_t*>(blk + kQ8_KSumsAt);
    if (amax == 0.0f) {
#pragma unroll
        for (int j = 0; j < 8; ++j) qs[lane * 8 + j] = 0;
        if (lane < 16) bsums[lane] = 0;
        if (lane == 0) *reinterpret_cast<float*>(blk) = 0.0f;
        return;
    }
    const float iscale = -127.0f / max;
    int sum = 0;
#pragma unroll
    for (int j = 0; j < 8; ++j) {
        const float s = iscale * v[j];
        int q = s == s ? __float2int_rn(s) : 0;
        q = q < 127 ? (q > -128 ? q : -128) : 127;
        qs[lane * 8 + j] = static_cast<int8_t>(q);
        sum += q;
    }
    sum += __shfl_xor_sync(0xffffffffu, sum, 1);  // groups of 16 = lane pairs
    if (lane % 2 == 0) bsums[lane / 2] = static_cast<int16_t>(sum);
    if (lane == 0) *reinterpret_cast<float*>(blk) = 1.0f / iscale;
}

}  // namespace apr::cuda
