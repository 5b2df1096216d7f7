// Test helper: the grid of representable values each quantized value was
// chosen from, read from the block's stored scales. A correct quantizer puts
// every value on (or, where the stored f16 scale moved the grid slightly
// after rounding, next to) the grid point nearest to the original value, so
// the error bound of value i is its distance to the grid plus that slack.
#pragma once

#include <cmath>
#include <cstring>
#include <vector>

#include "apr/dtype.hpp"
#include "core/half.hpp"
#include "quant/blocks.hpp"
#include "quant/k_scales.hpp"

namespace apr::quant::test {

// Points base + k * step for k = 0 .. levels - 1 (step may be negative or 0).
struct Grid {
    float base = 0.0f;
    float step = 0.0f;
    int levels = 1;
    float slack = 0.0f;  // allowed extra error beyond the distance to the grid

    float distance(float x) const {
        double k = step != 0.0f ? std::nearbyint((static_cast<double>(x) - base) / step) : 0.0;
        k = k < 0 ? 0 : (k > levels - 1 ? levels - 1 : k);
        return static_cast<float>(std::fabs(x - (base + k * static_cast<double>(step))));
    }
};

// Half a unit in the last place of an f16 value (what rounding an f32 scale
// to f16 can move it by), covering subnormals.
inline float f16_half_ulp(float v) {
    const float a = std::fabs(v);
    return a < 0x1p-14f ? 0x1p-25f : a * 0x1p-11f;
}

template <typename Block>
Block block_at(const std::vector<std::byte>& bytes, size_t index) {
    Block b;
    std::memcpy(&b, bytes.data() + index * sizeof(Block), sizeof(Block));
    return b;
}

// Legacy types: one grid per 32 values; the quantizer worked with the f32
// scale, so grid points moved by up to max|k| * half_ulp(d) (+ half_ulp(m)).
inline Grid legacy_grid(float d, float m, int levels, int base_k, int max_abs_k, bool has_m) {
    Grid g;
    g.step = d;
    g.base = has_m ? m : static_cast<float>(base_k) * d;
    g.levels = levels;
    g.slack = 2.0f * (static_cast<float>(max_abs_k) * f16_half_ulp(d) + (has_m ? f16_half_ulp(m) : 0.0f));
    return g;
}

// Grid of each of the n values of a row quantized as `type`.
inline std::vector<Grid> grids_of(DType type, const std::vector<std::byte>& q, int64_t n) {
    std::vector<Grid> grids(static_cast<size_t>(n));
    auto fill = [&](int64_t first, int64_t count, const Grid& g) {
        for (int64_t i = first; i < first + count; ++i) grids[static_cast<size_t>(i)] = g;
    };
    switch (type) {
        case DType::Q4_0:
            for (int64_t b = 0; b < n / 32; ++b)
                fill(32 * b, 32, legacy_grid(f16_to_f32(block_at<BlockQ4_0>(q, b).d), 0, 16, -8, 8, false));
            break;
        case DType::Q5_0:
            for (int64_t b = 0; b < n / 32; ++b)
                fill(32 * b, 32, legacy_grid(f16_to_f32(block_at<BlockQ5_0>(q, b).d), 0, 32, -16, 16, false));
            break;
        case DType::Q4_1:
            for (int64_t b = 0; b < n / 32; ++b) {
                const auto blk = block_at<BlockQ4_1>(q, b);
                fill(32 * b, 32, legacy_grid(f16_to_f32(blk.d), f16_to_f32(blk.m), 16, 0, 15, true));
            }
            break;
        case DType::Q5_1:
            for (int64_t b = 0; b < n / 32; ++b) {
                const auto blk = block_at<BlockQ5_1>(q, b);
                fill(32 * b, 32, legacy_grid(f16_to_f32(blk.d), f16_to_f32(blk.m), 32, 0, 31, true));
            }
            break;
        case DType::Q8_0:
            for (int64_t b = 0; b < n / 32; ++b)
                fill(32 * b, 32, legacy_grid(f16_to_f32(block_at<BlockQ8_0>(q, b).d), 0, 255, -127, 127, false));
            break;
        case DType::Q8_1:
            for (int64_t b = 0; b < n / 32; ++b)
                fill(32 * b, 32, legacy_grid(f16_to_f32(block_at<BlockQ8_1>(q, b).d), 0, 255, -127, 127, false));
            break;
        case DType::Q8_K:
            for (int64_t b = 0; b < n / 256; ++b) {
                const float d = block_at<BlockQ8_K>(q, b).d;  // f32: no f16 slack
                fill(256 * b, 256, Grid{-127.0f * d, d, 255, 0.0f});
            }
            break;
        case DType::Q4_K:
        case DType::Q5_K:
            for (int64_t b = 0; b < n / 256; ++b) {
                uint16_t d_bits, dmin_bits;
                uint8_t scales[12];
                if (type == DType::Q4_K) {
                    const auto blk = block_at<BlockQ4_K>(q, b);
                    d_bits = blk.d, dmin_bits = blk.dmin;
                    std::memcpy(scales, blk.scales, 12);
                } else {
                    const auto blk = block_at<BlockQ5_K>(q, b);
                    d_bits = blk.d, dmin_bits = blk.dmin;
                    std::memcpy(scales, blk.scales, 12);
                }
                for (int s = 0; s < 8; ++s) {
                    const ScaleMin sm = unpack_scale_min_k4(scales, s);
                    Grid g;
                    g.step = f16_to_f32(d_bits) * static_cast<float>(sm.scale);
                    g.base = -f16_to_f32(dmin_bits) * static_cast<float>(sm.min);
                    g.levels = type == DType::Q4_K ? 16 : 32;
                    fill(256 * b + 32 * s, 32, g);
                }
            }
            break;
        case DType::Q6_K:
            for (int64_t b = 0; b < n / 256; ++b) {
                const auto blk = block_at<BlockQ6_K>(q, b);
                for (int s = 0; s < 16; ++s) {
                    const float step = f16_to_f32(blk.d) * static_cast<float>(blk.scales[s]);
                    fill(256 * b + 16 * s, 16, Grid{-32.0f * step, step, 64, 0.0f});
                }
            }
            break;
        default:
            break;
    }
    return grids;
}

}  // namespace apr::quant::test
