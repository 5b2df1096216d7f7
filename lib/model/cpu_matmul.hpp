// y = x W^T on the CPU for every weight type the kernels support, straight
// from the weight's stored form, through the kernels' apr::cpu::matmul: the
// activations are quantized once per call into the format the weight's dot
// product pairs with (Q8_K for K-quants, Q8_0 for Q8_0/Q4_0, f32 for float
// weights, as llama.cpp does), then weight rows run in parallel. Call inside
// the backend's task arena. The SIMD level is chosen once, at construction.
#pragma once

#include <cstdint>

#include "apr/dtype.hpp"
#include "cpu/cpu_features.hpp"
#include "model/backend.hpp"

namespace apr::model {

class CpuMatmul {
public:
    CpuMatmul();
    bool supports(DType type) const;
    // x: rows x w.cols f32; y: rows x w.rows f32. Thread-safe (the kernels'
    // scratch is per calling thread).
    void run(const Weight& w, const float* x, int64_t rows, float* y) const;
    cpu::SimdLevel level() const { return level_; }

private:
    cpu::SimdLevel level_;
};

}  // namespace apr::model
