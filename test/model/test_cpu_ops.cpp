// The forward pass's CPU row ops (kernels/cpu/ops.hpp) against plain double
// references (attention: test_attention_kernels.cpp).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <vector>

#include "apr/sampling.hpp"
#include "core/half.hpp"
#include "cpu/cpu_features.hpp"
#include "cpu/ops.hpp"

using namespace apr;

namespace {
std::vector<float> random_values(size_t n, uint64_t seed, double scale = 1.0) {
    Rng rng(seed);
    std::vector<float> v(n);
    for (float& x : v) x = static_cast<float>((rng.uniform() * 2 - 1) * scale);
    return v;
}
std::vector<uint16_t> to_f16(const std::vector<float>& v) {
    std::vector<uint16_t> out(v.size());
    cpu::f32_to_f16_row(v.data(), out.data(), static_cast<int64_t>(v.size()));
    return out;
}
}  // namespace

TEST_CASE("rmsnorm, swiglu and NEOX rope match double references") {
    const int64_t n = 64;
    const auto x = random_values(n, 1, 3.0);
    const auto w = random_values(n, 2);
    std::vector<float> y(n);
    cpu::rmsnorm_row(x.data(), w.data(), n, 1e-6f, y.data());
    double ss = 0;
    for (float v : x) ss += double(v) * v;
    const double inv = 1.0 / std::sqrt(ss / n + 1e-6);
    for (int64_t i = 0; i < n; ++i) CHECK(y[i] == Approx(x[i] * inv * w[i]).epsilon(1e-5));

    const auto up = random_values(n, 3);
    cpu::swiglu_row(x.data(), up.data(), n, y.data());
    for (int64_t i = 0; i < n; ++i) CHECK(y[i] == Approx(x[i] / (1 + std::exp(-double(x[i]))) * up[i]).epsilon(1e-5).margin(1e-6));

    // rope: pairs (i, i + d/2) rotate by pos * theta^(-2i/d)
    const int64_t d = 16;
    std::vector<float> head(x.begin(), x.begin() + d);
    std::vector<float> inv_freq(d / 2);
    for (int64_t i = 0; i < d / 2; ++i) inv_freq[i] = 1.0f / std::pow(10000.0f, float(2 * i) / d);
    cpu::rope_neox_head(head.data(), d, 5.0f, inv_freq.data());
    for (int64_t i = 0; i < d / 2; ++i) {
        const double a = 5.0 * inv_freq[i];
        CHECK(head[i] == Approx(x[i] * std::cos(a) - x[i + d / 2] * std::sin(a)).margin(1e-5));
        CHECK(head[i + d / 2] == Approx(x[i] * std::sin(a) + x[i + d / 2] * std::cos(a)).margin(1e-5));
    }
    // normal (Llama GGUF) rope: adjacent pairs (2i, 2i + 1)
    std::vector<float> adjacent(x.begin(), x.begin() + d);
    cpu::rope_normal_head(adjacent.data(), d, 5.0f, inv_freq.data());
    for (int64_t i = 0; i < d / 2; ++i) {
        const double a = 5.0 * inv_freq[i];
        CHECK(adjacent[2 * i] == Approx(x[2 * i] * std::cos(a) - x[2 * i + 1] * std::sin(a)).margin(1e-5));
        CHECK(adjacent[2 * i + 1] == Approx(x[2 * i] * std::sin(a) + x[2 * i + 1] * std::cos(a)).margin(1e-5));
    }
}

TEST_CASE("rope over a row's heads gives each head's bits of the one-head rotation") {
    for (const int64_t d : {int64_t{64}, int64_t{128}, int64_t{2048}}) {  // 2048: past the angle table, head by head
        const int64_t heads = 6;
        std::vector<float> inv(static_cast<size_t>(d / 2));
        for (int64_t i = 0; i < d / 2; ++i) inv[static_cast<size_t>(i)] = 1.0f / std::pow(1e6f, 2.0f * float(i) / float(d));
        for (const float pos : {0.0f, 1.0f, 37.0f, 4095.0f, 32767.0f}) {
            INFO("d " << d << ", position " << pos);
            const std::vector<float> x = random_values(static_cast<size_t>(heads * d), 11, 3.0);
            for (int normal = 0; normal < 2; ++normal) {
                std::vector<float> one = x, all = x;
                for (int64_t h = 0; h < heads; ++h)
                    (normal ? cpu::rope_normal_head : cpu::rope_neox_head)(one.data() + h * d, d, pos, inv.data());
                (normal ? cpu::rope_normal_heads : cpu::rope_neox_heads)(all.data(), heads, d, pos, inv.data());
                int64_t differ = 0;
                for (size_t i = 0; i < x.size(); ++i) differ += std::memcmp(&one[i], &all[i], sizeof(float)) != 0;
                CHECK(differ == 0);
            }
        }
    }
}

TEST_CASE("exp_row and the SIMD-level swiglu_row give std::exp's and swiglu_row's bits at every level") {
    // A spread of float bit patterns over the whole range (every 4093rd,
    // about a million, with NaN, infinities, zeros, subnormals and the
    // edges of glibc's fast path around |x| = 88 among them), then special
    // values at each position of a 16-lane vector.
    std::vector<float> x;
    for (uint64_t b = 0; b < (uint64_t{1} << 32); b += 4093) {
        const auto bits = static_cast<uint32_t>(b);
        float f;
        std::memcpy(&f, &bits, sizeof f);
        x.push_back(f);
    }
    const float specials[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 88.0f, -88.0f, 87.99999f, -87.99999f,
                              88.72283f, 88.72284f, -103.27893f, -103.97208f, -104.0f, 1e-45f, -1e-45f, 0.5f, -0.5f};
    for (int pos = 0; pos < 17; ++pos)
        for (float s : specials) {
            std::vector<float> row(17, 1.25f);
            row[static_cast<size_t>(pos)] = s;
            x.insert(x.end(), row.begin(), row.end());
        }
    const auto n = static_cast<int64_t>(x.size());
    std::vector<float> up = random_values(x.size(), 9, 4.0);
    std::vector<float> ref_exp(x.size()), ref_swiglu(x.size());
    for (size_t i = 0; i < x.size(); ++i) ref_exp[i] = std::exp(x[i]);
    cpu::swiglu_row(x.data(), up.data(), n, ref_swiglu.data());
    auto same = [](float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0 || (std::isnan(a) && std::isnan(b)); };
    cpu::SimdLevel levels[3];
    const int count = cpu::supported_simd_levels(levels);
    for (int li = 0; li < count; ++li) {
        INFO("level " << cpu::simd_level_name(levels[li]));
        std::vector<float> e(x.size()), s(x.size());
        cpu::exp_row(x.data(), n, e.data(), levels[li]);
        cpu::swiglu_row(x.data(), up.data(), n, s.data(), levels[li]);
        int64_t exp_differ = 0, swiglu_differ = 0;
        for (size_t i = 0; i < x.size(); ++i) {
            exp_differ += !same(e[i], ref_exp[i]);
            swiglu_differ += !same(s[i], ref_swiglu[i]);
        }
        CHECK(exp_differ == 0);
        CHECK(swiglu_differ == 0);
    }
    if (!cpu::simd_level_supported(cpu::SimdLevel::avx512)) WARN("this CPU has no AVX-512: only the lower levels ran");
}
