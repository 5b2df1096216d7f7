// RoPE's arithmetic for every CUDA kernel that rotates q or k (rope_qk,
// rope, rope_qk_store, the QKV matvec's epilogue, attention_decode): one
// definition, so they all give the same bits (and the CPU's: __fmul_rn and
// friends keep nvcc from contracting into fused multiply-adds).
#pragma once

namespace apr::cuda {

// The angle pos * inv_freq_i's sine and cosine.
__device__ __forceinline__ void rope_angle(float pos, float inv_freq_i, float& sn, float& cs) {
    sincosf(__fmul_rn(pos, inv_freq_i), &sn, &cs);
}

// The pair (x0, x1) rotated by the angle of sine sn and cosine cs.
struct RopePair {
    float y0, y1;
};
__device__ __forceinline__ RopePair rope_rotate(float x0, float x1, float sn, float cs) {
    return {__fsub_rn(__fmul_rn(x0, cs), __fmul_rn(x1, sn)), __fadd_rn(__fmul_rn(x0, sn), __fmul_rn(x1, cs))};
}

// Which values pair i of a head of 2 * half values rotates: NEOX i and
// i + half, else 2i and 2i + 1.
__device__ __forceinline__ int rope_first(int i, bool neox) { return neox ? i : 2 * i; }
__device__ __forceinline__ int rope_second(int i, int half, bool neox) { return neox ? i + half : 2 * i + 1; }

// Pair i of a head, src to dst (which may be src).
__device__ __forceinline__ void rope_pair(const float* src, float* dst, int i, int half, bool neox, float sn, float cs) {
    const int i0 = rope_first(i, neox), i1 = rope_second(i, half, neox);
    const RopePair y = rope_rotate(src[i0], src[i1], sn, cs);
    dst[i0] = y.y0;
    dst[i1] = y.y1;
}

}  // namespace apr::cuda
