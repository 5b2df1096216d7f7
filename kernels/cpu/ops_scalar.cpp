// Portable implementations of kernels/cpu/ops.hpp.
#include "cpu/ops.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <memory>

#include "core/half.hpp"

namespace apr::cpu {

void rmsnorm_row(const float* x, const float* w, int64_t n, float eps, float* y) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i] * x[i]);
    const float mean = static_cast<float>(sum / static_cast<double>(n));
    const float scale = 1.0f / std::sqrt(mean + eps);
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale * w[i];
}

namespace {

// Rotates pair i of a head by the angle whose cosine and sine are c and s:
// neox pairs (i, i + d/2), "normal" pairs (2i, 2i + 1).
template <bool Neox>
inline void rotate_pair(float* x, int64_t d, int64_t i, float c, float s) {
    const int64_t i0 = Neox ? i : 2 * i, i1 = Neox ? i + d / 2 : 2 * i + 1;
    const float x0 = x[i0];
    const float x1 = x[i1];
    x[i0] = x0 * c - x1 * s;
    x[i1] = x0 * s + x1 * c;
}

template <bool Neox>
void rope_head(float* x, int64_t d, float position, const float* inv_freq) {
    for (int64_t i = 0; i < d / 2; ++i) {
        const float theta = position * inv_freq[i];
        rotate_pair<Neox>(x, d, i, std::cos(theta), std::sin(theta));
    }
}

// `heads` heads at one position: the angles' cos and sin once for all the
// heads (the same expressions, so each head gets the one-head bits); head
// by head when d/2 exceeds the table.
constexpr int64_t kAngleTable = 512;
template <bool Neox>
void rope_heads(float* x, int64_t heads, int64_t d, float position, const float* inv_freq) {
    if (d / 2 > kAngleTable) {
        for (int64_t h = 0; h < heads; ++h) rope_head<Neox>(x + h * d, d, position, inv_freq);
        return;
    }
    float c[kAngleTable], s[kAngleTable];
    for (int64_t i = 0; i < d / 2; ++i) {
        const float theta = position * inv_freq[i];
        c[i] = std::cos(theta);
        s[i] = std::sin(theta);
    }
    for (int64_t h = 0; h < heads; ++h)
        for (int64_t i = 0; i < d / 2; ++i) rotate_pair<Neox>(x + h * d, d, i, c[i], s[i]);
}

}  // namespace

void rope_neox_head(float* x, int64_t d, float position, const float* inv_freq) { rope_head<true>(x, d, position, inv_freq); }
void rope_normal_head(float* x, int64_t d, float position, const float* inv_freq) {
    rope_head<false>(x, d, position, inv_freq);
}
void rope_neox_heads(float* x, int64_t heads, int64_t d, float position, const float* inv_freq) {
    rope_heads<true>(x, heads, d, position, inv_freq);
}
void rope_normal_heads(float* x, int64_t heads, int64_t d, float position, const float* inv_freq) {
    rope_heads<false>(x, heads, d, position, inv_freq);
}

void swiglu_row(const float* gate, const float* up, int64_t n, float* y) {
    for (int64_t i = 0; i < n; ++i) {
        const float g = gate[i];
        y[i] = g / (1.0f + std::exp(-g)) * up[i];
    }
}

void swiglu_row(const float* gate, const float* up, int64_t n, float* y, SimdLevel level) {
#if defined(__x86_64__)
    if (level == SimdLevel::avx512) return avx512::swiglu_row(gate, up, n, y);
#endif
    (void)level;
    swiglu_row(gate, up, n, y);
}

void exp_row(const float* x, int64_t n, float* y, SimdLevel level) {
#if defined(__x86_64__)
    if (level == SimdLevel::avx512) return avx512::exp_row(x, n, y);
#endif
    (void)level;
    for (int64_t i = 0; i < n; ++i) y[i] = std::exp(x[i]);
}

void add_row(float* y, const float* x, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

void softmax_row(float* x, int64_t n) {
    float max = -INFINITY;
    for (int64_t i = 0; i < n; ++i) max = std::max(max, x[i]);
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        const float e = std::exp(x[i] - max);
        x[i] = e;
        sum += e;
    }
    const float inv = static_cast<float>(1.0 / sum);
    for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

namespace {
const float* f16_table() {
    // Built once on first use (thread-safe static init); 256 KiB.
    static const std::unique_ptr<float[]> table = [] {
        auto t = std::make_unique<float[]>(65536);
        for (uint32_t i = 0; i < 65536; ++i) t[i] = f16_to_f32(static_cast<uint16_t>(i));
        return t;
    }();
    return table.get();
}
}  // namespace

float f16_bits_to_f32(uint16_t h) { return f16_table()[h]; }

void f32_to_f16_row(const float* x, uint16_t* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = f32_to_f16(x[i]);
}

float dot_f16(const uint16_t* a, const uint16_t* b, int64_t n) {
    const float* t = f16_table();
    // Eight partial sums let the compiler keep several accumulators in flight.
    std::array<float, 8> acc{};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; ++j) acc[j] += t[a[i + j]] * t[b[i + j]];
    float sum = 0.0f;
    for (; i < n; ++i) sum += t[a[i]] * t[b[i]];
    for (float v : acc) sum += v;
    return sum;
}

float dot_f32(const float* a, const float* b, int64_t n) {
    std::array<float, 8> acc{};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; ++j) acc[j] += a[i + j] * b[i + j];
    float sum = 0.0f;
    for (; i < n; ++i) sum += a[i] * b[i];
    for (float v : acc) sum += v;
    return sum;
}

void axpy_f16(float a, const uint16_t* x, float* y, int64_t n) {
    const float* t = f16_table();
    for (int64_t i = 0; i < n; ++i) y[i] += a * t[x[i]];
}

void axpy_f32(float a, const float* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

}  // namespace apr::cpu
