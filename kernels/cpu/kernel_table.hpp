// The per-instruction-set kernel tables. Every ISA (scalar, AVX2, AVX-512)
// fills one KernelTable; the dispatching code (matmul.cpp, quant_dot.cpp)
// picks a table once from the caller's SimdLevel and calls through it.
// A table may reuse a lower level's entry for a type it has no special code
// for, so every entry is always callable.
#pragma once

#include <cstddef>
#include <cstdint>

#include "apr/dtype.hpp"

namespace apr::cpu {

// f32 row of k values -> k/block activation blocks (Q8_0, Q8_1 or Q8_K).
using QuantizeRowFn = void (*)(const float* x, void* out, int64_t k);

// Dot product of one weight row with one activation row, both k values long
// (k a whole number of blocks). For float weights the activation is f32.
using VecDotFn = float (*)(int64_t k, const void* w_row, const void* act_row);

// A tile of the matmul: for r < nrows and t < ntok,
//   y[t * y_stride + r] = dot(weight row r, activation row t)
// weight row r starts at w + r * w_row_bytes, activation row t at
// act + t * act_row_bytes. Each output must come out bit-identical to the
// same ISA's vec_dot on that pair (so results never depend on how a matmul
// is split into tiles or threads).
using TileFn = void (*)(int64_t k, const std::byte* w, size_t w_row_bytes, int64_t nrows,
                        const std::byte* act, size_t act_row_bytes, int64_t ntok, float* y,
                        int64_t y_stride);

struct WeightKernels {
    VecDotFn vec_dot = nullptr;
    TileFn tile = nullptr;
};

struct KernelTable {
    QuantizeRowFn quantize_q8_0 = nullptr;
    QuantizeRowFn quantize_q8_1 = nullptr;
    QuantizeRowFn quantize_q8_K = nullptr;
    WeightKernels f32, f16, bf16;
    WeightKernels q4_0, q4_1, q5_0, q5_1, q8_0;
    WeightKernels q4_K, q5_K, q6_K;

    // The kernels for a weight type; nullptr for a type without matmul support.
    const WeightKernels* for_weight(DType type) const noexcept;
};

// A TileFn made of vec_dot calls: the fallback for types without a
// multi-token kernel (bit-identical to vec_dot by construction).
template <VecDotFn Dot>
void tile_by_vec_dot(int64_t k, const std::byte* w, size_t w_row_bytes, int64_t nrows,
                     const std::byte* act, size_t act_row_bytes, int64_t ntok, float* y,
                     int64_t y_stride) {
    for (int64_t r = 0; r < nrows; ++r)
        for (int64_t t = 0; t < ntok; ++t)
            y[t * y_stride + r] = Dot(k, w + r * w_row_bytes, act + t * act_row_bytes);
}

// One table per ISA. The AVX2 / AVX-512 tables live in libraries compiled
// with those instruction sets; call them only when simd_level_supported().
const KernelTable& scalar_kernels() noexcept;
const KernelTable& avx2_kernels() noexcept;
const KernelTable& avx512_kernels() noexcept;

}  // namespace apr::cpu
