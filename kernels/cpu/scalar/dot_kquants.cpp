// Scalar dot products of K-quant weights with Q8_K activations. Per 256-value
// super-block: integer sums per sub-block, weighted by the integer sub-block
// scales, then one float multiply by d_w * d_a; the K-quant mins use the
// activation's per-16 sums (bsums). This is llama.cpp's vec_dot arithmetic.
#include "core/half.hpp"
#include "cpu/scalar/scalar_kernels.hpp"
#include "quant/blocks.hpp"

namespace apr::cpu::scalar {

using namespace apr::quant;

float dot_q4_K(int64_t k, const void* wv, const void* av) {
    const auto* w = static_cast<const BlockQ4_K*>(wv);
    const auto* a = static_cast<const BlockQ8_K*>(av);
    float sum = 0.0f;
    for (int64_t b = 0; b < k / kQKK; ++b) {
        int32_t isum = 0, minsum = 0;
        for (int j = 0; j < 8; ++j) {
            int scale, min;
            k4_scale_min(j, w[b].scales, scale, min);
            // Sub-block j: values 32j..32j+31; pair p = j/2 shares 32 bytes of
            // qs, low nibbles for the even sub-block, high for the odd one.
            const uint8_t* qs = w[b].qs + (j / 2) * 32;
            const int shift = (j % 2) * 4;
            const int8_t* q8 = a[b].qs + j * 32;
            int32_t dot = 0;
            for (int l = 0; l < 32; ++l) dot += ((qs[l] >> shift) & 0xF) * q8[l];
            isum += scale * dot;
            minsum += min * (a[b].bsums[2 * j] + a[b].bsums[2 * j + 1]);
        }
        sum += f16_to_f32(w[b].d) * a[b].d * static_cast<float>(isum);
        sum -= f16_to_f32(w[b].dmin) * a[b].d * static_cast<float>(minsum);
    }
    return sum;
}

float dot_q5_K(int64_t k, const void* wv, const void* av) {
    const auto* w = static_cast<const BlockQ5_K*>(wv);
    const auto* a = static_cast<const BlockQ8_K*>(av);
    float sum = 0.0f;
    for (int64_t b = 0; b < k / kQKK; ++b) {
        int32_t isum = 0, minsum = 0;
        for (int j = 0; j < 8; ++j) {
            int scale, min;
            k4_scale_min(j, w[b].scales, scale, min);
            const uint8_t* qs = w[b].qs + (j / 2) * 32;
            const int shift = (j % 2) * 4;
            const int8_t* q8 = a[b].qs + j * 32;
            int32_t dot = 0;
            for (int l = 0; l < 32; ++l) {
                // Fifth bit of value l of sub-block j: bit j of qh[l].
                const int q = ((qs[l] >> shift) & 0xF) | (((w[b].qh[l] >> j) & 1) << 4);
                dot += q * q8[l];
            }
            isum += scale * dot;
            minsum += min * (a[b].bsums[2 * j] + a[b].bsums[2 * j + 1]);
        }
        sum += f16_to_f32(w[b].d) * a[b].d * static_cast<float>(isum);
        sum -= f16_to_f32(w[b].dmin) * a[b].d * static_cast<float>(minsum);
    }
    return sum;
}

float dot_q6_K(int64_t k, const void* wv, const void* av) {
    const auto* w = static_cast<const BlockQ6_K*>(wv);
    const auto* a = static_cast<const BlockQ8_K*>(av);
    float sum = 0.0f;
    for (int64_t b = 0; b < k / kQKK; ++b) {
        int32_t isum = 0;
        for (int i = 0; i < kQKK; i += 16) {
            // Value i: each 128-value half uses 64 bytes of ql and 32 of qh;
            // quarter q (32 values) takes ql low/high nibbles and qh bits 2q.
            int32_t dot = 0;
            for (int l = i; l < i + 16; ++l) {
                const int half = l / 128, quarter = (l % 128) / 32, pos = l % 32;
                const uint8_t ql = w[b].ql[half * 64 + (quarter % 2) * 32 + pos];
                const uint8_t qh = w[b].qh[half * 32 + pos];
                const int lo = quarter < 2 ? (ql & 0xF) : (ql >> 4);
                const int q = (lo | (((qh >> (2 * quarter)) & 3) << 4)) - 32;
                dot += q * a[b].qs[l];
            }
            isum += w[b].scales[i / 16] * dot;
        }
        sum += f16_to_f32(w[b].d) * a[b].d * static_cast<float>(isum);
    }
    return sum;
}

}  // namespace apr::cpu::scalar
