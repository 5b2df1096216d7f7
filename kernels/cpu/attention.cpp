// Portable attention kernels of kernels/cpu/attention.hpp and their dispatch.
#include "cpu/attention.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "core/half.hpp"
#include "cpu/dispatch.hpp"
#include "cpu/ops.hpp"
#include "quant/dequantize.hpp"

namespace apr::cpu {
namespace {

bool use_avx2(SimdLevel level) {
#if defined(__x86_64__)
    return level != SimdLevel::scalar;
#else
    (void)level;
    return false;
#endif
}

// The AVX-512 f16 kernels: at that level, for head sizes they take.
bool use_avx512_f16(SimdLevel level, int64_t d) {
#if defined(__x86_64__)
    return level == SimdLevel::avx512 && d % 32 == 0 && d <= kMaxAvx512HeadDim;
#else
    (void)level, (void)d;
    return false;
#endif
}

// exp(s_j - max) in place, their sum in double (as ggml's softmax).
float exponentiate(float* scores, int64_t n, float max) {
    double sum = 0.0;
    for (int64_t j = 0; j < n; ++j) {
        const float e = std::exp(scores[j] - max);
        scores[j] = e;
        sum += e;
    }
    return static_cast<float>(sum);
}

AttentionPartial attend_block_f16_scalar(const uint16_t* q16, const uint16_t* k, const uint16_t* v, int64_t stride,
                                         int64_t n, int64_t d, float scale, uint16_t* acc16, float* acc) {
    std::fill_n(acc16, d, uint16_t{0});
    float sum = 0.0f;
    float max = -INFINITY;
    for (int64_t j = 0; j < n; ++j) {
        const float s = dot_f16(q16, k + j * stride, d) * scale;
        float ms = 1.0f;  // rescale of what was summed so far
        float vs = 1.0f;  // weight of this position
        if (s > max) {
            ms = std::exp(max - s);
            max = s;
            for (int64_t i = 0; i < d; ++i) acc16[i] = f32_to_f16(f16_to_f32(acc16[i]) * ms);
        } else {
            vs = std::exp(s - max);
        }
        const uint16_t* vr = v + j * stride;
        for (int64_t i = 0; i < d; ++i) acc16[i] = f32_to_f16(std::fma(f16_to_f32(vr[i]), vs, f16_to_f32(acc16[i])));
        sum = sum * ms + vs;
    }
    for (int64_t i = 0; i < d; ++i) acc[i] = f16_to_f32(acc16[i]);
    return {max, sum};
}

}  // namespace

void fold_partial(AttentionPartial& p1, float* a1, const AttentionPartial& p2, const float* a2, int64_t d) {
    if (p2.sum == 0.0f) return;
    if (p1.sum == 0.0f) {
        p1 = p2;
        std::copy_n(a2, d, a1);
        return;
    }
    const float max = std::max(p1.max, p2.max);
    const float s1 = std::exp(p1.max - max);
    const float s2 = std::exp(p2.max - max);
    for (int64_t i = 0; i < d; ++i) a1[i] = a1[i] * s1 + a2[i] * s2;
    p1.sum = p1.sum * s1 + p2.sum * s2;
    p1.max = max;
}

void finish_partial(const AttentionPartial& p, const float* acc, int64_t d, float* out) {
    const float inv = p.sum == 0.0f ? 0.0f : 1.0f / p.sum;
    for (int64_t i = 0; i < d; ++i) out[i] = acc[i] * inv;
}

AttentionPartial attend_block_f32(const float* q, const float* k, const float* v, int64_t stride, int64_t n,
                                  int64_t d, float scale, float* scores, float* acc, SimdLevel level) {
#if defined(__x86_64__)
    if (use_avx2(level)) return avx2::attend_block_f32(q, k, v, stride, n, d, scale, scores, acc);
#endif
    float max = -INFINITY;
    for (int64_t j = 0; j < n; ++j) {
        scores[j] = dot_f32(q, k + j * stride, d) * scale;
        max = std::max(max, scores[j]);
    }
    const float sum = exponentiate(scores, n, max);
    std::fill_n(acc, d, 0.0f);
    for (int64_t j = 0; j < n; ++j) axpy_f32(scores[j], v + j * stride, acc, d);
    return {max, sum};
}

AttentionPartial attend_block_f16(const uint16_t* q16, const uint16_t* k, const uint16_t* v, int64_t stride,
                                  int64_t n, int64_t d, float scale, uint16_t* acc16, float* acc, SimdLevel level) {
#if defined(__x86_64__)
    if (use_avx512_f16(level, d)) return avx512::attend_block_f16(q16, k, v, stride, n, d, scale, acc16, acc);
    if (use_avx2(level)) return avx2::attend_block_f16(q16, k, v, stride, n, d, scale, acc16, acc);
#endif
    (void)level;
    return attend_block_f16_scalar(q16, k, v, stride, n, d, scale, acc16, acc);
}

void attend_block_f16_group(const uint16_t* q16, int64_t heads, const uint16_t* k, const uint16_t* v, int64_t stride,
                            int64_t n, int64_t d, float scale, float* qf, uint16_t* acc16, float* acc,
                            AttentionPartial* parts, SimdLevel level) {
#if defined(__x86_64__)
    if (use_avx512_f16(level, d)) {
        for (int64_t h0 = 0; h0 < heads; h0 += kMaxGroupHeads) {
            const int64_t hn = std::min(kMaxGroupHeads, heads - h0);
            avx512::attend_block_f16_group(q16 + h0 * d, hn, k, v, stride, n, d, scale, qf, acc16, acc + h0 * d, parts + h0);
        }
        return;
    }
    if (use_avx2(level) && d % 16 == 0) {
        for (int64_t h0 = 0; h0 < heads; h0 += kMaxGroupHeads) {
            const int64_t hn = std::min(kMaxGroupHeads, heads - h0);
            avx2::attend_block_f16_group(q16 + h0 * d, hn, k, v, stride, n, d, scale, qf, acc16, acc + h0 * d, parts + h0);
        }
        return;
    }
#endif
    (void)qf;
    for (int64_t h = 0; h < heads; ++h)
        parts[h] = attend_block_f16(q16 + h * d, k, v, stride, n, d, scale, acc16, acc + h * d, level);
}

AttentionPartial attend_block_q8_0(const void* q8, const void* k, const void* v, int64_t stride, int64_t n,
                                   int64_t d, float scale, float* scores, float* vrow, float* acc, SimdLevel level) {
    constexpr size_t kBlockBytes = 34;  // sizeof(quant::BlockQ8_0)
    const auto dot = kernels_for(level).q8_0.vec_dot;
    const auto* kb = static_cast<const std::byte*>(k);
    const auto* vb = static_cast<const std::byte*>(v);
    const size_t row_stride = static_cast<size_t>(stride) * kBlockBytes;
    const bool simd = use_avx2(level);
    float max = -INFINITY;
    for (int64_t j = 0; j < n; ++j) {
        scores[j] = dot(d, kb + static_cast<size_t>(j) * row_stride, q8) * scale;
        max = std::max(max, scores[j]);
    }
    const float sum = exponentiate(scores, n, max);
    std::fill_n(acc, d, 0.0f);
    for (int64_t j = 0; j < n; ++j) {
        quant::dequantize_row(DType::Q8_0, vb + static_cast<size_t>(j) * row_stride, vrow, d);
#if defined(__x86_64__)
        if (simd) {
            avx2::axpy_f32(scores[j], vrow, acc, d);
            continue;
        }
#endif
        axpy_f32(scores[j], vrow, acc, d);
    }
    (void)simd;
    return {max, sum};
}

void f32_to_f16_row(const float* x, uint16_t* y, int64_t n, SimdLevel level) {
#if defined(__x86_64__)
    if (use_avx2(level)) {
        avx2::f32_to_f16_row(x, y, n);
        return;
    }
#endif
    (void)level;
    f32_to_f16_row(x, y, n);
}

void f32_to_q8_0_row(const float* x, void* y, int64_t n, SimdLevel level) { kernels_for(level).quantize_q8_0(x, y, n); }

void attend_head_f32(const float* q, const float* k, const float* v, int64_t stride, int64_t n, int64_t d,
                     float scale, float* scores, float* out) {
    constexpr int64_t kBlock = 256;  // model::kKVBlockPositions
    std::vector<float> acc(static_cast<size_t>(d)), folded(static_cast<size_t>(d));
    AttentionPartial state{-INFINITY, 0.0f};
    for (int64_t first = 0; first < n; first += kBlock) {
        const AttentionPartial p = attend_block_f32(q, k + first * stride, v + first * stride, stride,
                                                    std::min(kBlock, n - first), d, scale, scores, acc.data(),
                                                    SimdLevel::scalar);
        fold_partial(state, folded.data(), p, acc.data(), d);
    }
    finish_partial(state, folded.data(), d, out);
}

}  // namespace apr::cpu
