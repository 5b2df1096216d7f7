// The scalar (portable C++) kernels: the obviously-correct reference every
// SIMD version is tested against, and the fallback on CPUs without AVX2.
#pragma once

#include <cstdint>

namespace apr::cpu::scalar {

void quantize_row_q8_0(const float* x, void* out, int64_t k);
void quantize_row_q8_1(const float* x, void* out, int64_t k);
void quantize_row_q8_K(const float* x, void* out, int64_t k);

// Weight row . activation row (k values). Activations: Q8_K for the K types,
// Q8_0 for Q4_0/Q5_0/Q8_0, Q8_1 for Q4_1/Q5_1, f32 for float weights.
float dot_q4_K(int64_t k, const void* w, const void* a);
float dot_q5_K(int64_t k, const void* w, const void* a);
float dot_q6_K(int64_t k, const void* w, const void* a);
float dot_q4_0(int64_t k, const void* w, const void* a);
float dot_q4_1(int64_t k, const void* w, const void* a);
float dot_q5_0(int64_t k, const void* w, const void* a);
float dot_q5_1(int64_t k, const void* w, const void* a);
float dot_q8_0(int64_t k, const void* w, const void* a);
float dot_f32(int64_t k, const void* w, const void* a);
float dot_f16(int64_t k, const void* w, const void* a);
float dot_bf16(int64_t k, const void* w, const void* a);

// The 6-bit scale and min of sub-block j (0..7) of a Q4_K / Q5_K block.
inline void k4_scale_min(int j, const uint8_t* q, int& scale, int& min) {
    if (j < 4) {
        scale = q[j] & 63;
        min = q[j + 4] & 63;
    } else {
        scale = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

}  // namespace apr::cpu::scalar
