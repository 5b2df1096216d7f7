// Deterministic random tensor data for apr-make-random-model. Every row is
// drawn from its own generator seeded by (seed, tensor name, row), so the
// bytes do not depend on the thread count or on which other tensors exist
// (a 2-layer model's blk.0 equals the full model's blk.0).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "random_model_plan.hpp"

namespace apr::tools {

// Fills `out` with row `row` of the tensor named `tensor_name`. Values follow
// an Irwin-Hall(4) approximation of a normal distribution (bounded to about
// +-3.5 sigma, which is all a speed benchmark needs and costs one 64-bit
// random number per value): sigma 0.02 around 0 for weights and biases,
// around 1 for norms.
void fill_random_row(uint64_t seed, std::string_view tensor_name, int64_t row, InitKind init,
                     std::span<float> out);

// Which code quantizes Q4_K and Q6_K rows: the one-pass quantizers of
// fast_kquant.hpp (default: 20x faster, fine for speed runs) or the
// library's searching quant::quantize_row. Other types always use the library.
enum class KQuantizer { fast, library };

// The stored bytes of `tensor` (dtype_bytes(tensor.dtype, elements) of them):
// random rows converted to F32/F16 or quantized row by row, rows spread over
// oneTBB's threads. Throws apr::Error when `out` has the wrong size or the
// type cannot be produced.
void make_tensor_data(const PlannedTensor& tensor, uint64_t seed, std::span<std::byte> out,
                      KQuantizer k_quantizer = KQuantizer::fast);

}  // namespace apr::tools
