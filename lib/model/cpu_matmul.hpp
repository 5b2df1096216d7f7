// y = x W^T on the CPU for every weight type the kernels support, through the
// kernels' apr::cpu::matmul: the activations are quantized once per call
// into the format the weight's dot product pairs with (Q8_K for K-quants,
// Q8_0 for Q8_0/Q4_0, f32 for float weights, as llama.cpp does), then weight
// rows run in parallel. Call inside the backend's task arena. The SIMD level
// is chosen once, at construction.
//
// Weights the repacked kernels handle (Q4_K / Q6_K with rows % 8 == 0 at the
// AVX2 level, rows % 16 == 0 at the AVX-512 level, kernels/cpu/repack.hpp) are repacked at bind time into memory
// this object owns, and the file mapping's pages behind them are released
// (madvise), so the process holds one copy of them, not two. The file is
// unchanged; APR_REPACK=0 in the environment keeps the file's layout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>

#include "apr/dtype.hpp"
#include "apr/tensor.hpp"
#include "cpu/cpu_features.hpp"
#include "model/backend.hpp"

namespace apr::model {

class CpuMatmul {
public:
    CpuMatmul();
    bool supports(DType type) const;
    // A matrix weight ready for run(): repacked when `repack` is set and the
    // kernels have a repacked layout for it (call inside the backend's arena:
    // repacking runs in parallel), else a view of the tensor.
    Weight bind(const TensorView& t, bool repack);
    // x: rows x w.cols f32; y: rows x w.rows f32. Thread-safe (the kernels'
    // scratch is per calling thread).
    void run(const Weight& w, const float* x, int64_t rows, float* y) const;
    // ys[i] = x ws[i]^T for weights sharing one input (q/k/v, gate/up): when
    // they take the same activation format, x is quantized once for all of
    // them (the bits of quantizing it per product); else run() each.
    void run_shared(std::span<const Weight* const> ws, const float* x, int64_t rows, std::span<float* const> ys) const;
    // Row `row` of w as f32 (embedding lookups; w repacked or not).
    void dequantize_row(const Weight& w, int64_t row, float* out) const;
    cpu::SimdLevel level() const { return level_; }
    // Bytes of repacked weights this object holds.
    size_t repacked_bytes() const { return repacked_bytes_; }

private:
    struct AlignedFree {
        void operator()(std::byte* p) const;
    };
    cpu::SimdLevel level_;
    bool repack_;
    std::deque<std::unique_ptr<std::byte[], AlignedFree>> repacked_;
    size_t repacked_bytes_ = 0;
};

}  // namespace apr::model
