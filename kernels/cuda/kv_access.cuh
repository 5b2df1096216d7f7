// Reads of the device KV cache (f16 half bits or f32) shared by the
// attention kernels (attention.cu, attention_decode.cu).
#pragma once

#include <cstddef>
#include <cstdint>

#include "cuda/blocks.cuh"
#include "cuda/kernels.hpp"

namespace apr::cuda {

template <bool F16>
__device__ __forceinline__ float load_kv(const void* base, size_t i) {
    if constexpr (F16) return half_bits_to_float(static_cast<const uint16_t*>(base)[i]);
    else return static_cast<const float*>(base)[i];
}

// A value as the cache holds it: rounded to f16 for an f16 cache.
template <bool F16>
__device__ __forceinline__ float to_cache_precision(float x) {
    if constexpr (F16) return half_bits_to_float(float_to_half_bits(x));
    else return x;
}

// L consecutive values from element i (i a multiple of L, the row start
// 16-byte aligned) in one vector load: 2, 4, 8 or 16 bytes of f16, or f32.
template <bool F16, int L>
__device__ __forceinline__ void load_kv_vec(const void* base, size_t i, float (&x)[L]) {
    static_assert(L == 1 || L == 2 || L == 4 || L == 8);
    if constexpr (F16) {
        const uint16_t* p = static_cast<const uint16_t*>(base) + i;
        if constexpr (L == 1) {
            x[0] = half_bits_to_float(p[0]);
        } else {
            uint32_t w[L / 2];
            if constexpr (L == 2) w[0] = *reinterpret_cast<const uint32_t*>(p);
            if constexpr (L == 4) {
                const uint2 u = *reinterpret_cast<const uint2*>(p);
                w[0] = u.x, w[1] = u.y;
            }
            if constexpr (L == 8) {
                const uint4 u = *reinterpret_cast<const uint4*>(p);
                w[0] = u.x, w[1] = u.y, w[2] = u.z, w[3] = u.w;
            }
#pragma unroll
            for (int j = 0; j < L / 2; ++j) {
                x[2 * j] = half_bits_to_float(static_cast<uint16_t>(w[j] & 0xFFFFu));
                x[2 * j + 1] = half_bits_to_float(static_cast<uint16_t>(w[j] >> 16));
            }
        }
    } else {
        const float* p = static_cast<const float*>(base) + i;
        if constexpr (L == 1) x[0] = p[0];
        if constexpr (L == 2) {
            const float2 u = *reinterpret_cast<const float2*>(p);
            x[0] = u.x, x[1] = u.y;
        }
        if constexpr (L >= 4) {
#pragma unroll
            for (int j = 0; j < L / 4; ++j) {
                const float4 u = reinterpret_cast<const float4*>(p)[j];
                x[4 * j] = u.x, x[4 * j + 1] = u.y, x[4 * j + 2] = u.z, x[4 * j + 3] = u.w;
            }
        }
    }
}

// Element `at` of row r's keys and values: the new key and value, stored in
// the cache's precision.
template <bool F16>
__device__ __forceinline__ void store_kv(const KVRows& kv, int64_t r, size_t at, float key, float value) {
    if constexpr (F16) {
        static_cast<uint16_t*>(kv.k_base[r])[at] = float_to_half_bits(key);
        static_cast<uint16_t*>(kv.v_base[r])[at] = float_to_half_bits(value);
    } else {
        static_cast<float*>(kv.k_base[r])[at] = key;
        static_cast<float*>(kv.v_base[r])[at] = value;
    }
}

}  // namespace apr::cuda
