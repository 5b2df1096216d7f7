// The paged-cache attention kernels (kernels/cpu/attention.hpp): one query
// head over 600 positions in blocks of 256, partials folded in block order,
// against a softmax(qK^T * scale) V reference in double, for every cache type
// and SIMD level.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "apr/sampling.hpp"
#include "cpu/attention.hpp"
#include "cpu/cpu_features.hpp"
#include "cpu/ops.hpp"

using namespace apr;

namespace {

constexpr int64_t kD = 64, kN = 600, kBlock = 256, kStride = 3 * kD;  // rows of 3 KV heads; use head 1

std::vector<float> random_values(size_t n, uint64_t seed) {
    Rng rng(seed);
    std::vector<float> v(n);
    for (float& x : v) x = static_cast<float>(rng.uniform() * 2 - 1);
    return v;
}

struct Data {
    std::vector<float> q = random_values(kD, 4), k = random_values(kN * kStride, 5), v = random_values(kN * kStride, 6);
    float scale = 1.0f / 8.0f;
    std::vector<double> want = std::vector<double>(kD, 0.0);
    Data() {
        std::vector<double> p(kN);
        double max = -1e30, sum = 0;
        for (int64_t j = 0; j < kN; ++j) {
            double s = 0;
            for (int64_t i = 0; i < kD; ++i) s += double(q[i]) * k[j * kStride + kD + i];
            p[j] = s * scale;
            max = std::max(max, p[j]);
        }
        for (auto& x : p) sum += (x = std::exp(x - max));
        for (int64_t j = 0; j < kN; ++j)
            for (int64_t i = 0; i < kD; ++i) want[i] += p[j] / sum * v[j * kStride + kD + i];
    }
};

// Runs `block(first, n, acc)` for each block, folds, finishes.
template <typename Block>
std::vector<float> blocked(const Block& block) {
    cpu::AttentionPartial state{-INFINITY, 0.0f};
    std::vector<float> folded(kD), acc(kD), out(kD);
    for (int64_t first = 0; first < kN; first += kBlock) {
        const cpu::AttentionPartial p = block(first, std::min(kBlock, kN - first), acc.data());
        cpu::fold_partial(state, folded.data(), p, acc.data(), kD);
    }
    cpu::finish_partial(state, folded.data(), kD, out.data());
    return out;
}

std::vector<cpu::SimdLevel> levels() {
    std::vector<cpu::SimdLevel> out{cpu::SimdLevel::scalar};
    if (cpu::simd_level_supported(cpu::SimdLevel::avx2)) out.push_back(cpu::SimdLevel::avx2);
    if (cpu::simd_level_supported(cpu::SimdLevel::avx512)) out.push_back(cpu::SimdLevel::avx512);
    return out;
}

}  // namespace

TEST_CASE("f32 cache: blockwise attention equals the softmax reference") {
    const Data x;
    for (cpu::SimdLevel level : levels()) {
        INFO(cpu::simd_level_name(level));
        std::vector<float> scores(kBlock);
        const auto out = blocked([&](int64_t first, int64_t n, float* acc) {
            return cpu::attend_block_f32(x.q.data(), x.k.data() + first * kStride + kD, x.v.data() + first * kStride + kD,
                                         kStride, n, kD, x.scale, scores.data(), acc, level);
        });
        for (int64_t i = 0; i < kD; ++i) CHECK(out[i] == Approx(x.want[i]).margin(1e-5));
    }
}

TEST_CASE("f16 cache: blockwise attention with llama.cpp's f16 accumulator is close to the reference") {
    const Data x;
    std::vector<uint16_t> q16(kD), k16(x.k.size()), v16(x.v.size()), acc16(kD);
    cpu::f32_to_f16_row(x.q.data(), q16.data(), kD);
    cpu::f32_to_f16_row(x.k.data(), k16.data(), static_cast<int64_t>(k16.size()));
    cpu::f32_to_f16_row(x.v.data(), v16.data(), static_cast<int64_t>(v16.size()));
    std::vector<std::vector<float>> outs;
    for (cpu::SimdLevel level : levels()) {
        INFO(cpu::simd_level_name(level));
        outs.push_back(blocked([&](int64_t first, int64_t n, float* acc) {
            return cpu::attend_block_f16(q16.data(), k16.data() + first * kStride + kD, v16.data() + first * kStride + kD,
                                         kStride, n, kD, x.scale, acc16.data(), acc, level);
        }));
        for (int64_t i = 0; i < kD; ++i) CHECK(outs.back()[i] == Approx(x.want[i]).margin(3e-3));
    }
    // Same algorithm at every level; only the Q.K summation order differs.
    for (size_t l = 1; l < outs.size(); ++l)
        for (int64_t i = 0; i < kD; ++i) CHECK(outs[l][i] == Approx(outs[0][i]).margin(2e-3));
}

TEST_CASE("q8_0 cache: blockwise attention over quantized keys and values is close to the reference") {
    const Data x;
    for (cpu::SimdLevel level : levels()) {
        INFO(cpu::simd_level_name(level));
        // Rows of kD values -> kD/32 blocks of 34 bytes each; keep the 3-head stride.
        const int64_t row_blocks = kStride / 32;
        std::vector<std::byte> k8(static_cast<size_t>(kN * row_blocks * 34)), v8(k8.size()), q8(kD / 32 * 34);
        for (int64_t j = 0; j < kN; ++j) {
            cpu::f32_to_q8_0_row(x.k.data() + j * kStride, k8.data() + j * row_blocks * 34, kStride, level);
            cpu::f32_to_q8_0_row(x.v.data() + j * kStride, v8.data() + j * row_blocks * 34, kStride, level);
        }
        cpu::f32_to_q8_0_row(x.q.data(), q8.data(), kD, level);
        std::vector<float> scores(kBlock), vrow(kD);
        const int64_t head = kD / 32 * 34;  // head 1 starts after head 0's blocks
        const auto out = blocked([&](int64_t first, int64_t n, float* acc) {
            return cpu::attend_block_q8_0(q8.data(), k8.data() + first * row_blocks * 34 + head,
                                          v8.data() + first * row_blocks * 34 + head, row_blocks, n, kD, x.scale,
                                          scores.data(), vrow.data(), acc, level);
        });
        for (int64_t i = 0; i < kD; ++i) CHECK(out[i] == Approx(x.want[i]).margin(2e-2));
    }
}

TEST_CASE("folding: an empty partial changes nothing, one block alone finishes to its own average") {
    std::vector<float> a1{1, 2}, a2{3, 4}, out(2);
    cpu::AttentionPartial p1{-INFINITY, 0.0f};
    cpu::fold_partial(p1, a1.data(), cpu::AttentionPartial{0.5f, 2.0f}, a2.data(), 2);
    CHECK(p1.max == 0.5f);
    CHECK(p1.sum == 2.0f);
    CHECK(a1 == std::vector<float>{3, 4});
    cpu::fold_partial(p1, a1.data(), cpu::AttentionPartial{-INFINITY, 0.0f}, a2.data(), 2);
    CHECK(p1.sum == 2.0f);
    cpu::finish_partial(p1, a1.data(), 2, out.data());
    CHECK(out == std::vector<float>{1.5f, 2.0f});
    // Two equal partials fold to the same average.
    cpu::fold_partial(p1, a1.data(), cpu::AttentionPartial{0.5f, 2.0f}, a2.data(), 2);
    cpu::finish_partial(p1, a1.data(), 2, out.data());
    CHECK(out[0] == Approx(1.5f));
    CHECK(out[1] == Approx(2.0f));
}

TEST_CASE("f16 cache: a GQA group's heads in one pass give each head's bits of attend_block_f16") {
    // heads 6 and d 128 as Qwen2.5-1.5B; 10 heads > kMaxGroupHeads takes two passes; d 80 is not a multiple of 16.
    for (const auto& [heads, d] : {std::pair<int64_t, int64_t>{6, 128}, {10, 64}, {2, 80}, {1, 64}}) {
        const int64_t n = 256, stride = 2 * d;
        std::vector<float> q = random_values(static_cast<size_t>(heads * d), 7);
        for (float& x : q) x *= 4.0f;  // scores that grow past the running maximum now and then
        std::vector<uint16_t> q16(q.size()), k16(static_cast<size_t>(n * stride)), v16(k16.size());
        cpu::f32_to_f16_row(q.data(), q16.data(), heads * d);
        const auto k = random_values(k16.size(), 8), v = random_values(v16.size(), 9);
        cpu::f32_to_f16_row(k.data(), k16.data(), static_cast<int64_t>(k16.size()));
        cpu::f32_to_f16_row(v.data(), v16.data(), static_cast<int64_t>(v16.size()));
        for (cpu::SimdLevel level : levels())
            for (const int64_t count : {n, int64_t{37}}) {
                INFO(cpu::simd_level_name(level) << ": heads " << heads << ", d " << d << ", positions " << count);
                std::vector<float> qf(q.size()), acc(q.size()), one(static_cast<size_t>(d));
                std::vector<uint16_t> acc16(q.size());
                std::vector<cpu::AttentionPartial> parts(static_cast<size_t>(heads));
                cpu::attend_block_f16_group(q16.data(), heads, k16.data() + d, v16.data() + d, stride, count, d, 0.125f,
                                            qf.data(), acc16.data(), acc.data(), parts.data(), level);
                int64_t differ = 0;
                for (int64_t h = 0; h < heads; ++h) {
                    const cpu::AttentionPartial p = cpu::attend_block_f16(q16.data() + h * d, k16.data() + d, v16.data() + d, stride,
                                                                          count, d, 0.125f, acc16.data(), one.data(), level);
                    if (p.max != parts[static_cast<size_t>(h)].max || p.sum != parts[static_cast<size_t>(h)].sum) ++differ;
                    for (int64_t i = 0; i < d; ++i) differ += one[static_cast<size_t>(i)] != acc[static_cast<size_t>(h * d + i)];
                }
                CHECK(differ == 0);
            }
    }
}

TEST_CASE("f32 -> f16 rows: every SIMD level gives the scalar conversion's bits") {
    // Random values across the whole f16 range, values that round halfway
    // (ties to even), subnormal results, overflow to infinity, zeros and an
    // odd length so the vector loop's tail runs too.
    std::vector<float> x = random_values(1003, 7);
    for (size_t i = 0; i < x.size(); ++i) x[i] = std::ldexp(x[i], static_cast<int>(i % 48) - 30);
    const float special[] = {0.0f, -0.0f, 1.0f + 0x1p-11f, 1.0f + 0x1p-10f + 0x1p-11f, 65504.0f, 65520.0f, -70000.0f,
                             0x1p-24f, 0x1p-25f, 0x1.8p-25f, 0x1p-15f + 0x1p-25f, -0x1p-20f, INFINITY, -INFINITY, 1e-40f};
    x.insert(x.end(), std::begin(special), std::end(special));
    std::vector<uint16_t> want(x.size());
    cpu::f32_to_f16_row(x.data(), want.data(), static_cast<int64_t>(x.size()));
    for (cpu::SimdLevel level : levels()) {
        INFO(cpu::simd_level_name(level));
        std::vector<uint16_t> got(x.size());
        cpu::f32_to_f16_row(x.data(), got.data(), static_cast<int64_t>(x.size()), level);
        for (size_t i = 0; i < x.size(); ++i) {
            INFO("value " << x[i]);
            CHECK(got[i] == want[i]);
        }
    }
}
