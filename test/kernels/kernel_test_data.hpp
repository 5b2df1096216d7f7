// Shared helpers of the kernel tests: random rows, quantized weights made by
// the reference quantizer, and the SIMD levels this CPU can run.
#pragma once

#include <cmath>
#include <cstddef>
#include <random>
#include <vector>

#include "apr/dtype.hpp"
#include "apr/error.hpp"
#include "cpu/cpu_features.hpp"
#include "quant/quantize.hpp"

namespace apr::test {

// Gaussian values with a few outliers, like real activations and weights.
inline std::vector<float> random_row(int64_t n, uint32_t seed, float scale = 1.0f) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, scale);
    std::uniform_int_distribution<int> pick(0, 63);
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = normal(rng) * (pick(rng) == 0 ? 8.0f : 1.0f);
    return v;
}

inline std::vector<std::byte> quantize(DType type, const std::vector<float>& values) {
    std::vector<std::byte> out(dtype_bytes(type, static_cast<int64_t>(values.size())));
    quant::quantize_row(type, values.data(), out.data(), static_cast<int64_t>(values.size()));
    return out;
}

inline std::vector<cpu::SimdLevel> simd_levels() {
    cpu::SimdLevel levels[3];
    const int n = cpu::supported_simd_levels(levels);
    return {levels, levels + n};
}

// Weight types with a matmul, and row lengths (whole blocks) to test them on.
inline const std::vector<DType>& matmul_types() {
    static const std::vector<DType> types = {DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::Q8_0,
                                             DType::Q4_0, DType::Q5_0, DType::Q4_1, DType::Q5_1,
                                             DType::F32,  DType::F16,  DType::BF16};
    return types;
}

inline std::vector<int64_t> row_lengths(DType type) {
    const int64_t block = dtype_info(type)->block_elements;
    if (block == 256) return {256, 512, 1536, 2816};
    return {32, 64, 96, 256, 1536, 1568};
}

}  // namespace apr::test
