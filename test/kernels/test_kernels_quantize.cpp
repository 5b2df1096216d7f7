// Activation quantizers at every SIMD level produce the reference
// quantizer's bytes (apr::quant::quantize_row), including rounding ties,
// all-zero blocks, sign of the largest value and extreme magnitudes.
#include <catch2/catch.hpp>

#include <cstring>

#include "cpu/quant_dot.hpp"
#include "kernel_test_data.hpp"

using namespace apr;

namespace {

// Rows that stress the rounding: values that land exactly on .5 after
// scaling (amax 127 gives d = 1), ties of |x| with both signs, zero blocks.
std::vector<std::vector<float>> tricky_rows(int64_t n) {
    std::vector<std::vector<float>> rows;
    std::vector<float> halves(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) halves[i] = (i % 32 == 0) ? 127.0f : static_cast<float>(i % 254 - 127) + 0.5f;
    rows.push_back(halves);
    std::vector<float> neg = halves;
    for (int64_t i = 0; i < n; i += 32) neg[i] = -127.0f;
    rows.push_back(neg);
    std::vector<float> zeros(static_cast<size_t>(n), 0.0f);
    for (int64_t i = n / 2; i < n; ++i) zeros[i] = static_cast<float>(i % 7) - 3.0f;  // first half zero
    rows.push_back(zeros);
    std::vector<float> ties(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) ties[i] = (i % 3 == 0) ? 2.0f : ((i % 3 == 1) ? -2.0f : 0.25f * (i % 9));
    rows.push_back(ties);
    rows.push_back(test::random_row(n, 7, 1e-20f));
    rows.push_back(test::random_row(n, 8, 3e4f));
    return rows;
}

}  // namespace

TEST_CASE("activation quantizers match the reference bytes at every SIMD level") {
    const std::pair<DType, DType> pairs[] = {{DType::Q4_K, DType::Q8_K}, {DType::Q8_0, DType::Q8_0},
                                             {DType::Q4_1, DType::Q8_1}};
    for (auto [weight, act] : pairs) {
        for (int64_t n : {256, 512, 1536, 4096}) {
            std::vector<std::vector<float>> rows = tricky_rows(n);
            for (uint32_t seed = 1; seed <= 6; ++seed) rows.push_back(test::random_row(n, seed * 31 + n));
            for (const auto& row : rows) {
                const std::vector<std::byte> expected = test::quantize(act, row);
                REQUIRE(cpu::activation_row_bytes(weight, n) == expected.size());
                for (cpu::SimdLevel level : test::simd_levels()) {
                    INFO("activation " << dtype_name(act) << ", n=" << n << ", level " << cpu::simd_level_name(level));
                    std::vector<std::byte> got(expected.size(), std::byte{0x5a});
                    cpu::quantize_activation_row(weight, row.data(), got.data(), n, level);
                    REQUIRE(std::memcmp(got.data(), expected.data(), expected.size()) == 0);
                }
            }
        }
    }
}

TEST_CASE("float weights take the f32 activations unchanged") {
    const std::vector<float> row = test::random_row(64, 3);
    for (cpu::SimdLevel level : test::simd_levels()) {
        std::vector<float> got(64, -1.0f);
        cpu::quantize_activation_row(DType::BF16, row.data(), got.data(), 64, level);
        REQUIRE(got == row);
    }
}

TEST_CASE("activation quantizer rejects bad lengths and types") {
    std::vector<float> row(300, 1.0f);
    std::vector<std::byte> out(4096);
    REQUIRE_THROWS_AS(cpu::quantize_activation_row(DType::Q4_K, row.data(), out.data(), 300, cpu::SimdLevel::scalar),
                      Error);
    REQUIRE_THROWS_AS(cpu::quantize_activation_row(DType::Q2_K, row.data(), out.data(), 256, cpu::SimdLevel::scalar),
                      Error);
    REQUIRE_THROWS_AS(cpu::activation_row_bytes(DType::Q8_0, 0), Error);
}

TEST_CASE("SIMD level names and the APR_SIMD override") {
    for (auto level : {cpu::SimdLevel::scalar, cpu::SimdLevel::avx2, cpu::SimdLevel::avx512})
        REQUIRE(cpu::simd_level_from_name(cpu::simd_level_name(level)) == level);
    REQUIRE_FALSE(cpu::simd_level_from_name("sse9").has_value());
    REQUIRE(cpu::simd_level_supported(cpu::SimdLevel::scalar));
    REQUIRE(cpu::simd_level_supported(cpu::best_simd_level()));
    ::setenv("APR_SIMD", "scalar", 1);
    REQUIRE(cpu::selected_simd_level() == cpu::SimdLevel::scalar);
    ::setenv("APR_SIMD", "bogus", 1);
    REQUIRE_THROWS_AS(cpu::selected_simd_level(), Error);
    ::unsetenv("APR_SIMD");
    REQUIRE(cpu::selected_simd_level() == cpu::best_simd_level());
}
