// apr::cpu::matmul: every output equals the same level's vec_dot bit for bit
// (so tiling never changes numbers), agrees with the scalar level, and is
// identical for any thread count and any number of tokens per call.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>

#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include "cpu/matmul.hpp"
#include "cpu/quant_dot.hpp"
#include "kernel_test_data.hpp"

using namespace apr;

namespace {

struct Problem {
    DType type;
    int64_t n, k, t;
    std::vector<std::byte> w;
    std::vector<float> x;

    Problem(DType type_, int64_t n_, int64_t k_, int64_t t_, uint32_t seed) : type(type_), n(n_), k(k_), t(t_) {
        std::vector<float> wf = test::random_row(n * k, seed, 0.05f);
        w = test::quantize(type, wf);  // rows are contiguous whole blocks
        x = test::random_row(t * k, seed + 1);
    }
    cpu::MatmulWeight weight() const { return {type, w.data(), n, k}; }
    std::vector<float> run(cpu::SimdLevel level, int threads) const {
        std::vector<float> y(static_cast<size_t>(n * t), std::nanf(""));
        tbb::task_arena arena(threads);
        arena.execute([&] { cpu::matmul(weight(), x.data(), t, y.data(), level); });
        return y;
    }
};

bool bit_equal(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("matmul equals vec_dot per element at every SIMD level") {
    for (DType type : test::matmul_types()) {
        const int64_t k = dtype_info(type)->block_elements == 256 ? 512 : 96;
        for (int64_t t : {1, 3, 8, 13}) {
            const Problem p(type, 37, k, t, 11 + static_cast<uint32_t>(t));
            const std::vector<float> scalar = p.run(cpu::SimdLevel::scalar, 2);
            for (cpu::SimdLevel level : test::simd_levels()) {
                INFO(dtype_name(type) << " t=" << t << " level " << cpu::simd_level_name(level));
                const std::vector<float> y = p.run(level, 2);
                const size_t row_bytes = dtype_bytes(type, k);
                std::vector<std::byte> act(cpu::activation_row_bytes(type, k));
                for (int64_t ti = 0; ti < t; ++ti) {
                    cpu::quantize_activation_row(type, p.x.data() + ti * k, act.data(), k, level);
                    for (int64_t r = 0; r < p.n; ++r) {
                        const float expected = cpu::vec_dot(type, k, p.w.data() + r * row_bytes, act.data(), level);
                        const float got = y[ti * p.n + r];
                        REQUIRE(std::memcmp(&got, &expected, sizeof got) == 0);
                        REQUIRE(std::fabs(got - scalar[ti * p.n + r]) <= 1e-4f * (1.0f + std::fabs(got)));
                    }
                }
            }
        }
    }
}

TEST_CASE("matmul is identical for any thread count and token batching") {
    for (DType type : {DType::Q4_K, DType::Q6_K, DType::Q8_0, DType::Q4_0, DType::F16}) {
        const int64_t k = dtype_info(type)->block_elements == 256 ? 768 : 256;
        const Problem p(type, 300, k, 19, 5);
        for (cpu::SimdLevel level : test::simd_levels()) {
            INFO(dtype_name(type) << " level " << cpu::simd_level_name(level));
            const std::vector<float> one = p.run(level, 1);
            REQUIRE(bit_equal(one, p.run(level, 2)));
            // Token by token (the generation path) gives the same rows.
            for (int64_t ti = 0; ti < p.t; ti += 6) {
                std::vector<float> row(static_cast<size_t>(p.n));
                cpu::matmul(p.weight(), p.x.data() + ti * k, 1, row.data(), level);
                REQUIRE(std::memcmp(row.data(), one.data() + ti * p.n, row.size() * sizeof(float)) == 0);
            }
        }
    }
}

TEST_CASE("matmul validates its arguments") {
    std::vector<std::byte> w(dtype_bytes(DType::Q4_K, 512));
    std::vector<float> x(512), y(2);
    const auto level = cpu::SimdLevel::scalar;
    REQUIRE_THROWS_AS(cpu::matmul({DType::Q4_K, w.data(), 2, 300}, x.data(), 1, y.data(), level), Error);
    REQUIRE_THROWS_AS(cpu::matmul({DType::Q4_K, nullptr, 2, 256}, x.data(), 1, y.data(), level), Error);
    REQUIRE_THROWS_AS(cpu::matmul({DType::Q4_K, w.data(), 0, 256}, x.data(), 1, y.data(), level), Error);
    REQUIRE_THROWS_AS(cpu::matmul({DType::Q2_K, w.data(), 2, 256}, x.data(), 1, y.data(), level), Error);
    REQUIRE_THROWS_AS(cpu::matmul({DType::Q4_K, w.data(), 2, 256}, nullptr, 1, y.data(), level), Error);
    cpu::matmul({DType::Q4_K, w.data(), 2, 256}, x.data(), 0, y.data(), level);  // no tokens: no work
}

TEST_CASE("matmul calls nested inside parallel tasks keep their activations apart") {
    // Many matmuls with different inputs run as TBB tasks while their callers
    // wait in parallel_for: a thread may run one inside another. Each result
    // must equal the same matmul run alone.
    const Problem p(DType::Q4_K, 64, 512, 9, 21);
    std::vector<std::vector<float>> inputs, expected;
    for (uint32_t i = 0; i < 6; ++i) {
        inputs.push_back(test::random_row(p.t * p.k, 100 + i));
        std::vector<float> y(static_cast<size_t>(p.n * p.t));
        cpu::matmul(p.weight(), inputs.back().data(), p.t, y.data(), cpu::best_simd_level());
        expected.push_back(y);
    }
    std::vector<std::vector<float>> got(inputs.size(), std::vector<float>(static_cast<size_t>(p.n * p.t)));
    tbb::task_arena arena(2);
    arena.execute([&] {
        tbb::parallel_for(size_t{0}, inputs.size(), [&](size_t i) {
            cpu::matmul(p.weight(), inputs[i].data(), p.t, got[i].data(), cpu::best_simd_level());
        });
    });
    for (size_t i = 0; i < inputs.size(); ++i) REQUIRE(bit_equal(got[i], expected[i]));
}
