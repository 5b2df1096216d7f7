// One-pass Q4_K and Q6_K quantizers for random benchmark weights.
//
// The library's quantizers (quant::quantize_row) search for the best scales,
// which is right for real weights but takes about 200 ns per value here: 5+
// minutes for a 1.78 B-parameter model on 2 cores. A speed benchmark only
// needs valid blocks whose values follow the drawn distribution, so these
// take each sub-block's range as its grid (no search, no refit): about 20x
// faster, and within one quantization step of the input. Output is a normal
// GGUF block that any reader (libapr's, llama.cpp's) decodes the usual way.
#pragma once

#include <cstddef>
#include <cstdint>

namespace apr::tools {

// `n` floats (a whole number of 256-value super-blocks) into n / 256 blocks at dst.
void fast_quantize_q4_k(const float* x, std::byte* dst, int64_t n);
void fast_quantize_q6_k(const float* x, std::byte* dst, int64_t n);

}  // namespace apr::tools
