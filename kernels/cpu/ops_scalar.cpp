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

void rope_neox_head(float* x, int64_t d, float position, const float* inv_freq) {
    const int64_t half = d / 2;
    for (int64_t i = 0; i < half; ++i) {
        const float theta = position * inv_freq[i];
        const float c = std::cos(theta);
        const float s = std::sin(theta);
        const float x0 = x[i];
        const float x1 = x[i + half];
        x[i] = x0 * c - x1 * s;
        x[i + half] = x0 * s + x1 * c;
    }
}

void rope_normal_head(float* x, int64_t d, float position, const float* inv_freq) {
    for (int64_t i = 0; i < d / 2; ++i) {
        const float theta = position * inv_freq[i];
        const float c = std::cos(theta);
        const float s = std::sin(theta);
        const float x0 = x[2 * i];
        const float x1 = x[2 * i + 1];
        x[2 * i] = x0 * c - x1 * s;
        x[2 * i + 1] = x0 * s + x1 * c;
    }
}

namespace {
// cos and sin of position * inv_freq[i] for the d/2 angles of a head, the
// same expressions as the one-head functions; false when d/2 exceeds the
// table (then the callers rotate head by head).
constexpr int64_t kAngleTable = 512;
bool angles(int64_t d, float position, const float* inv_freq, float* c, float* s) {
    if (d / 2 > kAngleTable) return false;
    for (int64_t i = 0; i < d / 2; ++i) {
        const float theta = position * inv_freq[i];
        c[i] = std::cos(theta);
        s[i] = std::sin(theta);
    }
    return true;
}
}  // namespace

void rope_neox_heads(float* x, int64_t heads, int64_t d, float position, const float* inv_freq) {
    float c[kAngleTable], s[kAngleTable];
    if (!angles(d, position, inv_freq, c, s)) {
        for (int64_t h = 0; h < heads; ++h) rope_neox_head(x + h * d, d, position, inv_freq);
        return;
    }
    const int64_t half = d / 2;
    for (int64_t h = 0; h < heads; ++h) {
        float* xh = x + h * d;
        for (int64_t i = 0; i < half; ++i) {
            const float x0 = xh[i];
            const float x1 = xh[i + half];
            xh[i] = x0 * c[i] - x1 * s[i];
            xh[i + half] = x0 * s[i] + x1 * c[i];
        }
    }
}

void rope_normal_heads(float* x, int64_t heads, int64_t d, float position, const float* inv_freq) {
    float c[kAngleTable], s[kAngleTable];
    if (!angles(d, position, inv_freq, c, s)) {
        for (int64_t h = 0; h < heads; ++h) rope_normal_head(x + h * d, d, position, inv_freq);
        return;
    }
    for (int64_t h = 0; h < heads; ++h) {
        float* xh = x + h * d;
        for (int64_t i = 0; i < d / 2; ++i) {
            const float x0 = xh[2 * i];
            const float x1 = xh[2 * i + 1];
            xh[2 * i] = x0 * c[i] - x1 * s[i];
            xh[2 * i + 1] = x0 * s[i] + x1 * c[i];
        }
    }
}

void swiglu_row(const float* gate, const float* up, int64_t n, float* y) {
    for (int64_t i = 0; i < n; ++i) {
        const float g = gate[i];
        y[i] = g / (1.0f + std::exp(-g)) * up[i];
    }
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
