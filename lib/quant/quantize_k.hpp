// Weight quantizers of the K types (internal; callers use quantize_row).
// Each takes `blocks` super-blocks of 256 floats and writes `blocks` blocks.
#pragma once

#include <cstddef>
#include <cstdint>

namespace apr::quant {

void quantize_q4_k(const float* x, std::byte* dst, int64_t blocks);
void quantize_q5_k(const float* x, std::byte* dst, int64_t blocks);
void quantize_q6_k(const float* x, std::byte* dst, int64_t blocks);

}  // namespace apr::quant
