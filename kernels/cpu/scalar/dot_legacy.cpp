// Scalar dot products of the 32-value block types with Q8_0 / Q8_1
// activations (integer sum per block, then d_w * d_a in float, as llama.cpp),
// and of float weights with f32 activations.
#include "core/half.hpp"
#include "cpu/scalar/scalar_kernels.hpp"
#include "quant/blocks.hpp"

namespace apr::cpu::scalar {

using namespace apr::quant;

namespace {

// The 5th bit of value j (0..31) of a Q5_0 / Q5_1 block.
inline int q5_high_bit(const uint8_t qh[4], int j) {
    const uint32_t bits = qh[0] | (uint32_t{qh[1]} << 8) | (uint32_t{qh[2]} << 16) | (uint32_t{qh[3]} << 24);
    return static_cast<int>((bits >> j) & 1u) << 4;
}

// Value j of a 4-bit block: low nibbles hold values 0..15, high 16..31.
inline int nibble(const uint8_t qs[16], int j) { return j < 16 ? (qs[j] & 0xF) : (qs[j - 16] >> 4); }

}  // namespace

float dot_q4_0(int64_t k, const void* wv, const void* av) {
    const auto* w = static_cast<const BlockQ4_0*>(wv);
    const auto* a = static_cast<const BlockQ8_0*>(av);
    float sum = 0.0f;
    for (int64_t b = 0; b < k / kQK; ++b) {
        int32_t dot = 0;
        for (int j = 0; j < kQK; ++j) dot += (nibble(w[b].qs, j) - 8) * a[b].qs[j];
        sum += static_cast<float>(dot) * (f16_to_f32(w[b].d) * f16_to_f32(a[b].d));
    }
    return sum;
}

float dot_q4_1(int64_t k, const void* wv, const void* av) {
    const auto* w = static_cast<const BlockQ4_1*>(wv);
    const auto* a = static_cast<const BlockQ8_1*>(av);
    float sum = 0.0f;
    for (int64_t b = 0; b < k / kQK; ++b) {
        int32_t dot = 0;
        for (int j = 0; j < kQK; ++j) dot += nibble(w[b].qs, j) * a[b].qs[j];
        // x = d*q + m: the m term is m * sum(a) = m * s.
        sum += static_cast<float>(dot) * (f16_to_f32(w[b].d) * f16_to_f32(a[b].d)) +
               f16_to_f32(w[b].m) * f16_to_f32(a[b].s);
    }
    return sum;
}

float dot_q5_0(int64_t k, const void* wv, const void* av) {
    const auto* w = static_cast<const BlockQ5_0*>(wv);
    const auto* a = static_cast<const BlockQ8_0*>(av);
    float sum = 0.0f;
    for (int64_t b = 0; b < k / kQK; ++b) {
        int32_t dot = 0;
        for (int j = 0; j < kQK; ++j) dot += ((nibble(w[b].qs, j) | q5_high_bit(w[b].qh, j)) - 16) * a[b].qs[j];
        sum += static_cast<float>(dot) * (f16_to_f32(w[b].d) * f16_to_f32(a[b].d));
    }
    return sum;
}

float dot_q5_1(int64_t k, const void* wv, const void* av) {
    const auto* w = static_cast<const BlockQ5_1*>(wv);
    const auto* a = static_cast<const BlockQ8_1*>(av);
    float sum = 0.0f;
    for (int64_t b = 0; b < k / kQK; ++b) {
        int32_t dot = 0;
        for (int j = 0; j < kQK; ++j) dot += (nibble(w[b].qs, j) | q5_high_bit(w[b].qh, j)) * a[b].qs[j];
        sum += static_cast<float>(dot) * (f16_to_f32(w[b].d) * f16_to_f32(a[b].d)) +
               f16_to_f32(w[b].m) * f16_to_f32(a[b].s);
    }
    return sum;
}

float dot_q8_0(int64_t k, const void* wv, const void* av) {
    const auto* w = static_cast<const BlockQ8_0*>(wv);
    const auto* a = static_cast<const BlockQ8_0*>(av);
    float sum = 0.0f;
    for (int64_t b = 0; b < k / kQK; ++b) {
        int32_t dot = 0;
        for (int j = 0; j < kQK; ++j) dot += w[b].qs[j] * a[b].qs[j];
        sum += static_cast<float>(dot) * (f16_to_f32(w[b].d) * f16_to_f32(a[b].d));
    }
    return sum;
}

float dot_f32(int64_t k, const void* wv, const void* av) {
    const auto* w = static_cast<const float*>(wv);
    const auto* a = static_cast<const float*>(av);
    float sum = 0.0f;
    for (int64_t i = 0; i < k; ++i) sum += w[i] * a[i];
    return sum;
}

float dot_f16(int64_t k, const void* wv, const void* av) {
    const auto* w = static_cast<const uint16_t*>(wv);
    const auto* a = static_cast<const float*>(av);
    float sum = 0.0f;
    for (int64_t i = 0; i < k; ++i) sum += f16_to_f32(w[i]) * a[i];
    return sum;
}

float dot_bf16(int64_t k, const void* wv, const void* av) {
    const auto* w = static_cast<const uint16_t*>(wv);
    const auto* a = static_cast<const float*>(av);
    float sum = 0.0f;
    for (int64_t i = 0; i < k; ++i) sum += bf16_to_f32(w[i]) * a[i];
    return sum;
}

}  // namespace apr::cpu::scalar
