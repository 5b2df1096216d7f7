// Kernels compiled with AVX2 + FMA + F16C (only call when the CPU has them).
// Signatures as in kernel_table.hpp.
#pragma once

#include <cstdint>

namespace apr::cpu::avx2 {

void quantize_row_q8_0(const float* x, void* out, int64_t k);
void quantize_row_q8_1(const float* x, void* out, int64_t k);
void quantize_row_q8_K(const float* x, void* out, int64_t k);

float dot_q4_K(int64_t k, const void* w, const void* a);
float dot_q5_K(int64_t k, const void* w, const void* a);
float dot_q6_K(int64_t k, const void* w, const void* a);
float dot_q8_0(int64_t k, const void* w, const void* a);
float dot_q4_0(int64_t k, const void* w, const void* a);
float dot_q5_0(int64_t k, const void* w, const void* a);
float dot_q4_1(int64_t k, const void* w, const void* a);
float dot_q5_1(int64_t k, const void* w, const void* a);
float dot_f32(int64_t k, const void* w, const void* a);
float dot_f16(int64_t k, const void* w, const void* a);
float dot_bf16(int64_t k, const void* w, const void* a);

}  // namespace apr::cpu::avx2
