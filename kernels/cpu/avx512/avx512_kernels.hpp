// Kernels compiled with AVX-512 F/BW/VL/DQ/VNNI (only call when the CPU has
// them). Signatures as in kernel_table.hpp.
#pragma once

#include <cstddef>
#include <cstdint>

namespace apr::cpu::avx512 {

void quantize_row_q8_0(const float* x, void* out, int64_t k);
void quantize_row_q8_1(const float* x, void* out, int64_t k);
void quantize_row_q8_K(const float* x, void* out, int64_t k);

#define APR_CPU_DECLARE_WEIGHT_KERNELS(name)                                                                  \
    float dot_##name(int64_t k, const void* w, const void* a);                                                \
    void tile_##name(int64_t k, const std::byte* w, size_t w_row_bytes, int64_t nrows, const std::byte* act, \
                     size_t act_row_bytes, int64_t ntok, float* y, int64_t y_stride);
APR_CPU_DECLARE_WEIGHT_KERNELS(q4_K)
APR_CPU_DECLARE_WEIGHT_KERNELS(q5_K)
APR_CPU_DECLARE_WEIGHT_KERNELS(q6_K)
APR_CPU_DECLARE_WEIGHT_KERNELS(q8_0)
APR_CPU_DECLARE_WEIGHT_KERNELS(q4_0)
APR_CPU_DECLARE_WEIGHT_KERNELS(q5_0)
APR_CPU_DECLARE_WEIGHT_KERNELS(q4_1)
APR_CPU_DECLARE_WEIGHT_KERNELS(q5_1)
APR_CPU_DECLARE_WEIGHT_KERNELS(f32)
APR_CPU_DECLARE_WEIGHT_KERNELS(f16)
APR_CPU_DECLARE_WEIGHT_KERNELS(bf16)
#undef APR_CPU_DECLARE_WEIGHT_KERNELS

}  // namespace apr::cpu::avx512
