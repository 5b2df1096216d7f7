// Device-side readers of GGUF's quantized blocks (layouts in
// lib/quant/blocks.hpp) for the CUDA kernels. Blocks of 18, 22, 34 or 210
// bytes sit at 2-byte boundaries, so 32-bit words are read as two 16-bit
// halves there; 4-byte aligned layouts read words directly.
#pragma once

#include <cuda_fp16.h>

#include <cstdint>

namespace apr::cuda {

constexpr int kQK = 32;
constexpr int kQKK = 256;

// Byte sizes of the weight and activation blocks.
constexpr int kQ4_0Bytes = 18, kQ4_1Bytes = 20, kQ5_0Bytes = 22, kQ5_1Bytes = 24, kQ8_0Bytes = 34, kQ8_1Bytes = 36;
constexpr int kQ4_KBytes = 144, kQ5_KBytes = 176, kQ6_KBytes = 210, kQ8_KBytes = 292;
// A Q8_K block's fields: d (f32) at 0, its 256 int8 values at kQ8_KQsAt, the
// 16 int16 sums of 16 values each at kQ8_KSumsAt.
constexpr int kQ8_KQsAt = 4, kQ8_KSumsAt = 260;

__device__ __forceinline__ float half_bits_to_float(uint16_t h) { return __half2float(__ushort_as_half(h)); }
__device__ __forceinline__ uint16_t float_to_half_bits(float f) { return __half_as_ushort(__float2half_rn(f)); }

__device__ __forceinline__ uint16_t ld_u16(const uint8_t* p) { return *reinterpret_cast<const uint16_t*>(p); }
// A 32-bit little-endian word at a 2-byte aligned address.
__device__ __forceinline__ int ld_i32_a2(const uint8_t* p) {
    const auto* h = reinterpret_cast<const uint16_t*>(p);
    return static_cast<int>(static_cast<uint32_t>(h[0]) | (static_cast<uint32_t>(h[1]) << 16));
}
__device__ __forceinline__ int ld_i32_a4(const uint8_t* p) { return *reinterpret_cast<const int*>(p); }

// Q4_K / Q5_K: the 6-bit scale and min of sub-block j (k_scales.hpp).
__device__ __forceinline__ void k4_scale_min(const uint8_t* s, int j, int& scale, int& min) {
    if (j < 4) {
        scale = s[j] & 63;
        min = s[j + 4] & 63;
    } else {
        scale = (s[j + 4] & 0x0f) | ((s[j - 4] >> 6) << 4);
        min = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

// Each byte x of v (0 <= x < 2C, C a power of two up to 64) as the int8 x - C:
// x ^ C where x >= C, else x with every bit from C up set. Four logic
// operations where __vsubss4 is emulated in about ten on sm_90.
template <uint32_t C>
__device__ __forceinline__ int centered_bytes(uint32_t v) {
    static_assert(C >= 1 && C <= 64 && (C & (C - 1)) == 0, "C: a power of two up to 64");
    constexpr uint32_t c = C * 0x01010101u;
    return static_cast<int>((v ^ c) | ((~v & c) * ((0x100u - 2 * C) / C)));
}

// Unsigned byte i (0..3) of w, as an int.
__device__ __forceinline__ int byte_of(uint32_t w, int i) { return static_cast<int>((w >> (8 * i)) & 0xffu); }
// Signed byte i (0..3) of w, as an int.
__device__ __forceinline__ int sbyte_of(uint32_t w, int i) { return static_cast<int>(static_cast<int8_t>((w >> (8 * i)) & 0xffu)); }

// Spreads 4 bits into the low bit of 4 bytes: bit i -> bit 8i.
__device__ __forceinline__ int spread_bits4(uint32_t b) {
    return static_cast<int>((b & 1u) | ((b & 2u) << 7) | ((b & 4u) << 14) | ((b & 8u) << 21));
}

}  // namespace apr::cuda
