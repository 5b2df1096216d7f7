// vec_dot of every weight type at every SIMD level against (1) the scalar
// kernel, (2) the exact dot of the dequantized weights with the dequantized
// activations (in double), and (3) the float dot dequant(w) . x, within the
// error that 8-bit activations can cause.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "cpu/dispatch.hpp"
#include "cpu/quant_dot.hpp"
#include "kernel_test_data.hpp"
#include "core/half.hpp"
#include "quant/blocks.hpp"
#include "quant/dequantize.hpp"

using namespace apr;

namespace {

struct Case {
    std::vector<float> x;        // the f32 activations
    std::vector<std::byte> w;    // one quantized weight row
    std::vector<std::byte> act;  // x in the activation format (scalar quantizer)
    double exact = 0;            // dequant(w) . dequant(act), in double
    double magnitude = 0;        // sum |w_i * a_i|: the scale of float rounding errors
    double float_dot = 0;        // dequant(w) . x, in double
    double act_error_bound = 0;  // sum |w_i| * (one activation step of i's block)
};

Case make_case(DType type, int64_t n, uint32_t seed) {
    Case c;
    c.x = test::random_row(n, seed);
    c.w = test::quantize(type, test::random_row(n, seed + 1000, 0.05f));
    c.act.resize(cpu::activation_row_bytes(type, n));
    cpu::quantize_activation_row(type, c.x.data(), c.act.data(), n, cpu::SimdLevel::scalar);
    std::vector<float> wf(n), af(n);
    quant::dequantize_row(type, c.w.data(), wf.data(), n);
    const DType act_type = cpu::activation_type(type);
    quant::dequantize_row(act_type, c.act.data(), af.data(), n);
    const int64_t block = act_type == DType::F32 ? 1 : dtype_info(act_type)->block_elements;
    for (int64_t b = 0; b < n; b += block) {
        float amax = 0;
        for (int64_t i = b; i < b + block; ++i) amax = std::max(amax, std::fabs(c.x[i]));
        const double step = act_type == DType::F32 ? 0.0 : amax / 127.0;
        for (int64_t i = b; i < b + block; ++i) {
            c.exact += static_cast<double>(wf[i]) * af[i];
            c.magnitude += std::fabs(static_cast<double>(wf[i]) * af[i]);
            c.float_dot += static_cast<double>(wf[i]) * c.x[i];
            c.act_error_bound += std::fabs(static_cast<double>(wf[i])) * step;
        }
    }
    if (act_type == DType::Q8_1) {
        // x = d*q + m weights meet the activation sum through the stored
        // s = f16(d_a * sum(q_a)), not through sum(dequant(a)): account for
        // that rounding so `exact` is what the kernel computes.
        for (int64_t b = 0; b < n / 32; ++b) {
            uint16_t m_bits, s_bits;
            std::memcpy(&m_bits, c.w.data() + b * dtype_info(type)->block_bytes + 2, 2);
            std::memcpy(&s_bits, c.act.data() + b * sizeof(quant::BlockQ8_1) + 2, 2);
            double sum_a = 0;
            for (int64_t i = b * 32; i < b * 32 + 32; ++i) sum_a += af[i];
            const double m = f16_to_f32(m_bits), s = f16_to_f32(s_bits);
            c.exact += m * (s - sum_a);
            c.magnitude += std::fabs(m * s);
        }
    }
    return c;
}

}  // namespace

TEST_CASE("vec_dot agrees with the scalar kernel and with dequantized math") {
    for (DType type : test::matmul_types()) {
        for (int64_t n : test::row_lengths(type)) {
            for (uint32_t seed = 1; seed <= 3; ++seed) {
                const Case c = make_case(type, n, seed * 7919 + static_cast<uint32_t>(n));
                const float reference = cpu::vec_dot(type, n, c.w.data(), c.act.data(), cpu::SimdLevel::scalar);
                // Integer sums are exact; only the float scaling and summation
                // order differ, which costs a few ulps of the magnitude.
                const double tight = 2e-6 * c.magnitude + 1e-30;
                INFO(dtype_name(type) << " n=" << n << " seed=" << seed);
                REQUIRE(std::fabs(reference - c.exact) <= tight);
                REQUIRE(std::fabs(reference - c.float_dot) <= c.act_error_bound + tight);
                for (cpu::SimdLevel level : test::simd_levels()) {
                    INFO("level " << cpu::simd_level_name(level));
                    std::vector<std::byte> act(c.act.size());
                    cpu::quantize_activation_row(type, c.x.data(), act.data(), n, level);
                    const float got = cpu::vec_dot(type, n, c.w.data(), act.data(), level);
                    REQUIRE(std::fabs(got - reference) <= tight);
                }
            }
        }
    }
}

TEST_CASE("vec_dot on extreme and zero rows") {
    for (DType type : test::matmul_types()) {
        const int64_t n = 512;
        std::vector<float> zeros(n, 0.0f);
        std::vector<float> big = test::random_row(n, 99, 1e3f);
        const auto w = test::quantize(type, test::random_row(n, 5, 0.05f));
        for (cpu::SimdLevel level : test::simd_levels()) {
            INFO(dtype_name(type) << " level " << cpu::simd_level_name(level));
            std::vector<std::byte> act(cpu::activation_row_bytes(type, n));
            cpu::quantize_activation_row(type, zeros.data(), act.data(), n, level);
            REQUIRE(cpu::vec_dot(type, n, w.data(), act.data(), level) == 0.0f);
            cpu::quantize_activation_row(type, big.data(), act.data(), n, level);
            const float got = cpu::vec_dot(type, n, w.data(), act.data(), level);
            const float ref = cpu::vec_dot(type, n, w.data(), act.data(), cpu::SimdLevel::scalar);
            std::vector<float> wf(n);
            quant::dequantize_row(type, w.data(), wf.data(), n);
            double magnitude = 0;
            for (int64_t i = 0; i < n; ++i) magnitude += std::fabs(double{wf[i]} * big[i]);
            REQUIRE(std::isfinite(got));
            REQUIRE(std::fabs(got - ref) <= 2e-6 * magnitude);
        }
    }
}

TEST_CASE("vec_dot rejects unsupported types and partial blocks") {
    std::vector<std::byte> buf(4096);
    REQUIRE_THROWS_AS(cpu::vec_dot(DType::Q2_K, 256, buf.data(), buf.data(), cpu::SimdLevel::scalar), Error);
    REQUIRE_THROWS_AS(cpu::vec_dot(DType::Q4_K, 128, buf.data(), buf.data(), cpu::SimdLevel::scalar), Error);
    REQUIRE_THROWS_AS(cpu::vec_dot(DType::Q8_0, 33, buf.data(), buf.data(), cpu::SimdLevel::scalar), Error);
}

TEST_CASE("every SIMD level has its own kernels for the canonical Q4_K_M types") {
    // Guards the dispatch: a level silently falling back to the scalar code
    // would make the cross-level tests above compare scalar with scalar.
    const cpu::KernelTable& scalar = cpu::kernels_for(cpu::SimdLevel::scalar);
    for (cpu::SimdLevel level : test::simd_levels()) {
        if (level == cpu::SimdLevel::scalar) continue;
        INFO("level " << cpu::simd_level_name(level));
        const cpu::KernelTable& table = cpu::kernels_for(level);
        REQUIRE(table.quantize_q8_K != scalar.quantize_q8_K);
        REQUIRE(table.quantize_q8_0 != scalar.quantize_q8_0);
        for (DType type : test::matmul_types()) {
            INFO(dtype_name(type));
            REQUIRE(table.for_weight(type)->vec_dot != scalar.for_weight(type)->vec_dot);
        }
    }
    REQUIRE_THROWS_AS(cpu::kernels_for(static_cast<cpu::SimdLevel>(7)), Error);
}
