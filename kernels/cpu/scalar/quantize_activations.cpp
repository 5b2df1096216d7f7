// Scalar activation quantizers: f32 -> Q8_0, Q8_1, Q8_K. They follow
// llama.cpp's reference quantizers operation for operation (same divisions,
// same rounding), so the bytes match apr::quant::quantize_row exactly.
#include <cmath>
#include <cstring>

#include "core/half.hpp"
#include "cpu/scalar/scalar_kernels.hpp"
#include "quant/blocks.hpp"
#include "quant/rounding.hpp"  // the reference quantizers' rounding, NaN-safe

namespace apr::cpu::scalar {

using namespace apr::quant;


void quantize_row_q8_0(const float* x, void* out, int64_t k) {
    auto* y = static_cast<BlockQ8_0*>(out);
    for (int64_t b = 0; b < k / kQK; ++b, x += kQK) {
        float amax = 0.0f;
        for (int j = 0; j < kQK; ++j) { const float ax = std::fabs(x[j]); amax = amax > ax ? amax : ax; }
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = f32_to_f16(d);
        for (int j = 0; j < kQK; ++j) y[b].qs[j] = round_away_to_int8(x[j] * id);
    }
}

void quantize_row_q8_1(const float* x, void* out, int64_t k) {
    auto* y = static_cast<BlockQ8_1*>(out);
    for (int64_t b = 0; b < k / kQK; ++b, x += kQK) {
        float amax = 0.0f;
        for (int j = 0; j < kQK; ++j) { const float ax = std::fabs(x[j]); amax = amax > ax ? amax : ax; }
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = f32_to_f16(d);
        int sum = 0;
        for (int j = 0; j < kQK; ++j) {
            y[b].qs[j] = round_away_to_int8(x[j] * id);
            sum += y[b].qs[j];
        }
        // s = d * sum(q) with the unrounded d, as the reference does.
        y[b].s = f32_to_f16(static_cast<float>(sum) * d);
    }
}

void quantize_row_q8_K(const float* x, void* out, int64_t k) {
    auto* y = static_cast<BlockQ8_K*>(out);
    for (int64_t b = 0; b < k / kQKK; ++b, x += kQKK) {
        // The value of largest magnitude (the first one on ties) sets the
        // scale, with its sign: that value maps to exactly -127.
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < kQKK; ++j) {
            const float ax = std::fabs(x[j]);
            if (ax > amax) {
                amax = ax;
                max = x[j];
            }
        }
        if (amax == 0.0f) {
            y[b].d = 0.0f;
            std::memset(y[b].qs, 0, sizeof y[b].qs);
            std::memset(y[b].bsums, 0, sizeof y[b].bsums);
            continue;
        }
        const float iscale = -127.0f / max;
        for (int j = 0; j < kQKK; ++j) {
            const int v = nearest_int(iscale * x[j]);
            y[b].qs[j] = static_cast<int8_t>(v < 127 ? (v > -128 ? v : -128) : 127);
        }
        for (int g = 0; g < kQKK / 16; ++g) {
            int sum = 0;
            for (int j = 0; j < 16; ++j) sum += y[b].qs[g * 16 + j];
            y[b].bsums[g] = static_cast<int16_t>(sum);
        }
        y[b].d = 1.0f / iscale;
    }
}

}  // namespace apr::cpu::scalar
