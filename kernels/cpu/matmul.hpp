// The CPU matrix multiply of the forward pass:
//   y[t, n] = sum_k W[n, k] * x[t, k]
// W is row-major with `rows` (N) rows of `cols` (K) values of any supported
// type (see quant_dot.hpp; each row a whole number of blocks, as in GGUF),
// x is f32 [T, K] and y is f32 [T, N].
//
// Threads: the work is split over output rows with tbb::parallel_for in the
// calling thread's task arena; limit the thread count by calling matmul
// inside tbb::task_arena(n).execute(...). Every y element is computed by
// exactly one task in a fixed order, so results are bit-identical for any
// thread count (and for any T: row t of y depends only on row t of x).
//
// Scratch: the quantized activations live in a buffer owned by the calling
// thread that grows to the largest call and is then reused (no allocation
// per call after warm-up). Calls from different threads are independent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

#include "apr/dtype.hpp"
#include "cpu/cpu_features.hpp"

namespace apr::cpu {

struct MatmulWeight {
    DType type;
    const std::byte* data;  // rows * dtype_bytes(type, cols) bytes
    int64_t rows;           // N: output features
    int64_t cols;           // K: input features
};

// Throws apr::Error(invalid_argument / unsupported) for a bad shape or type.
void matmul(const MatmulWeight& w, const float* x, int64_t t, float* y, SimdLevel level);

// The two halves of matmul, for callers that feed one input to several
// weights (q/k/v, gate/up): quantize once, multiply many times.
// `act` holds t rows of activation_row_bytes(weight_type, k) bytes each.
void quantize_activations(DType weight_type, const float* x, int64_t t, int64_t k, std::byte* act,
                          SimdLevel level);
void matmul_quantized(const MatmulWeight& w, const std::byte* act, int64_t t, float* y, SimdLevel level);

// Quantizes t rows of x for `weight_type` into the calling thread's scratch
// (see above) and calls fn with it; the scratch is valid only during fn.
void with_quantized_activations(DType weight_type, const float* x, int64_t t, int64_t k, SimdLevel level,
                                const std::function<void(const std::byte*)>& fn);

}  // namespace apr::cpu
