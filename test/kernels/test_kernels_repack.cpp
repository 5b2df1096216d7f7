// Repacked Q4_K / Q6_K weights (cpu/repack.hpp): the layout round-trips
// (every row dequantizes to the file row's values bit for bit), the repacked
// matmul equals the scalar reference dot products bit for bit, and it is
// bit-identical for any thread count and any number of tokens per call, for
// each level's layout (AVX2: 8-row groups, AVX-512: 16-row groups); a level
// this CPU cannot run is skipped by name.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>

#include <tbb/task_arena.h>

#include "cpu/matmul.hpp"
#include "cpu/quant_dot.hpp"
#include "cpu/repack.hpp"
#include "kernel_test_data.hpp"
#include "support/prerequisites.hpp"
#include "quant/dequantize.hpp"

using namespace apr;

namespace {

constexpr cpu::SimdLevel kLevels[] = {cpu::SimdLevel::avx2, cpu::SimdLevel::avx512};

struct Packed {
    DType type;
    int64_t n, k;
    cpu::SimdLevel level;
    std::vector<std::byte> file, packed;
    Packed(DType type_, int64_t n_, int64_t k_, uint32_t seed, cpu::SimdLevel level_)
        : type(type_), n(n_), k(k_), level(level_) {
        file = test::quantize(type, test::random_row(n * k, seed, 0.05f));
        packed.resize(cpu::repacked_bytes(type, n, k, level));
        // two slices, as the backend repacks
        const int64_t g = cpu::repack_group_rows(level);
        const int64_t split = n / (2 * g) * g;
        cpu::repack_rows(type, file.data(), k, 0, split, packed.data(), level);
        cpu::repack_rows(type, file.data(), k, split, n, packed.data(), level);
    }
    cpu::RepackedWeight weight() const { return {type, packed.data(), n, k}; }
    std::vector<float> run(const std::vector<float>& x, int64_t t, int threads) const {
        std::vector<float> y(static_cast<size_t>(n * t), std::nanf(""));
        tbb::task_arena arena(threads);
        arena.execute([&] { cpu::matmul_repacked_f32(weight(), x.data(), t, y.data(), level); });
        return y;
    }
};

bool runs(cpu::SimdLevel level) {
    if (cpu::simd_level_supported(level)) return true;
    WARN("skipped: this CPU cannot run SIMD level " << cpu::simd_level_name(level));
    return false;
}

}  // namespace

TEST_CASE("repacked rows dequantize to the file's rows") {
    // The layouts are plain C++: checked for every level, whatever the CPU.
    for (cpu::SimdLevel level : kLevels) {
        for (DType type : {DType::Q4_K, DType::Q6_K}) {
            const Packed p(type, 48, 768, 3, level);
            const size_t row_bytes = dtype_bytes(type, p.k);
            std::vector<float> want(static_cast<size_t>(p.k)), got(static_cast<size_t>(p.k));
            for (int64_t r = 0; r < p.n; ++r) {
                quant::dequantize_row(type, p.file.data() + r * row_bytes, want.data(), p.k);
                cpu::dequantize_repacked_row(type, p.packed.data(), p.k, r, got.data(), level);
                INFO(cpu::simd_level_name(level) << " " << dtype_name(type) << " row " << r);
                REQUIRE(std::memcmp(want.data(), got.data(), want.size() * sizeof(float)) == 0);
            }
        }
    }
}

TEST_CASE("repacked matmul equals the scalar dot products bit for bit") {
  for (cpu::SimdLevel level : kLevels) {
    if (!runs(level)) continue;
    for (DType type : {DType::Q4_K, DType::Q6_K}) {
        for (int64_t k : {256, 1536, 2816}) {
            for (int64_t t : {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 16, 23, 24, 40}) {
                const Packed p(type, 48, k, 7 + static_cast<uint32_t>(k + t), level);
                const std::vector<float> x = test::random_row(t * k, 99 + static_cast<uint32_t>(t));
                const std::vector<float> y = p.run(x, t, 2);
                const size_t row_bytes = dtype_bytes(type, k);
                std::vector<std::byte> act(cpu::activation_row_bytes(type, k));
                for (int64_t ti = 0; ti < t; ++ti) {
                    cpu::quantize_activation_row(type, x.data() + ti * k, act.data(), k, cpu::SimdLevel::scalar);
                    for (int64_t r = 0; r < p.n; ++r) {
                        // Same integer sums, same float operations in the same
                        // order as the scalar reference: the same bits.
                        const float want =
                            cpu::vec_dot(type, k, p.file.data() + r * row_bytes, act.data(), cpu::SimdLevel::scalar);
                        const float got = y[ti * p.n + r];
                        INFO(cpu::simd_level_name(level) << " " << dtype_name(type) << " k=" << k << " t=" << t
                                                         << " row " << r << ": " << got << " vs " << want);
                        REQUIRE(std::memcmp(&got, &want, sizeof got) == 0);
                    }
                }
            }
        }
    }
  }
}

TEST_CASE("repacked matmul is identical for any thread count and token batching") {
  for (cpu::SimdLevel level : kLevels) {
    if (!runs(level)) continue;
    for (DType type : {DType::Q4_K, DType::Q6_K}) {
        const int64_t t = 19;
        const Packed p(type, 304, 1536, 5, level);
        const std::vector<float> x = test::random_row(t * p.k, 6);
        const std::vector<float> one = p.run(x, t, 1);
        REQUIRE(std::memcmp(one.data(), p.run(x, t, 2).data(), one.size() * sizeof(float)) == 0);
        for (int64_t ti = 0; ti < t; ++ti) {
            std::vector<float> row(static_cast<size_t>(p.n));
            cpu::matmul_repacked_f32(p.weight(), x.data() + ti * p.k, 1, row.data(), level);
            INFO(cpu::simd_level_name(level) << " " << dtype_name(type) << " token " << ti);
            REQUIRE(std::memcmp(row.data(), one.data() + ti * p.n, row.size() * sizeof(float)) == 0);
        }
    }
  }
}

TEST_CASE("several repacked weights in one region equal separate products bit for bit") {
  for (cpu::SimdLevel level : kLevels) {
    if (!runs(level)) continue;
    // q/k/v-like and gate/up-like sets sharing one Q8_K input, types mixed
    const int64_t k = 512;
    const Packed a(DType::Q4_K, 512, k, 21, level), b(DType::Q6_K, 256, k, 22, level), c(DType::Q4_K, 48, k, 23, level);
    const cpu::RepackedWeight ws[] = {a.weight(), b.weight(), c.weight()};
    for (int64_t t : {1, 8, 16}) {
        for (int threads : {1, 2}) {
            const std::vector<float> x = test::random_row(t * k, 30 + static_cast<uint32_t>(t));
            std::vector<std::byte> act(cpu::activation_row_bytes(DType::Q4_K, k) * static_cast<size_t>(t));
            cpu::quantize_activations(DType::Q4_K, x.data(), t, k, act.data(), level);
            std::vector<std::vector<float>> many(3), single(3);
            float* outs[3];
            for (size_t i = 0; i < 3; ++i) {
                many[i].assign(static_cast<size_t>(ws[i].rows * t), std::nanf(""));
                single[i].assign(many[i].size(), std::nanf(""));
                outs[i] = many[i].data();
            }
            tbb::task_arena arena(threads);
            arena.execute([&] {
                cpu::matmul_repacked_many(ws, act.data(), t, outs, level);
                for (size_t i = 0; i < 3; ++i) cpu::matmul_repacked(ws[i], act.data(), t, single[i].data(), level);
            });
            for (size_t i = 0; i < 3; ++i) {
                INFO(cpu::simd_level_name(level) << " t=" << t << " threads " << threads << " weight " << i);
                REQUIRE(std::memcmp(many[i].data(), single[i].data(), many[i].size() * sizeof(float)) == 0);
            }
        }
    }
  }
}

TEST_CASE("repacking checks types, shapes and levels") {
    constexpr auto kLevel = cpu::SimdLevel::avx2;
    const bool have_avx2 = cpu::simd_level_supported(kLevel);
    REQUIRE_FALSE(cpu::repack_supported(DType::Q8_0, 8, 256, kLevel));
    REQUIRE_FALSE(cpu::repack_supported(DType::Q4_K, 12, 256, kLevel));
    REQUIRE_FALSE(cpu::repack_supported(DType::Q4_K, 8, 128, kLevel));
    REQUIRE_FALSE(cpu::repack_supported(DType::Q4_K, 8, 256, cpu::SimdLevel::scalar));
    REQUIRE(cpu::repack_supported(DType::Q6_K, 8, 256, kLevel) == have_avx2);
    // AVX-512: 16-row groups
    REQUIRE_FALSE(cpu::repack_supported(DType::Q4_K, 8, 256, cpu::SimdLevel::avx512));
    REQUIRE(cpu::repack_supported(DType::Q4_K, 32, 256, cpu::SimdLevel::avx512) ==
            cpu::simd_level_supported(cpu::SimdLevel::avx512));
    REQUIRE_THROWS_AS(cpu::repacked_bytes(DType::Q4_K, 8, 256, cpu::SimdLevel::avx512), Error);
    REQUIRE(cpu::repacked_bytes(DType::Q4_K, 32, 512, cpu::SimdLevel::avx512) == 2 * 2 * 2368);
    REQUIRE(cpu::repacked_bytes(DType::Q6_K, 16, 256, cpu::SimdLevel::avx512) == 16 * 210);
    REQUIRE_THROWS_AS(cpu::repacked_bytes(DType::Q4_K, 16, 256, cpu::SimdLevel::scalar), Error);
    REQUIRE_THROWS_AS(cpu::repacked_bytes(DType::Q5_K, 8, 256, kLevel), Error);
    REQUIRE_THROWS_AS(cpu::repacked_bytes(DType::Q4_K, 9, 256, kLevel), Error);
    REQUIRE(cpu::repacked_bytes(DType::Q4_K, 16, 512, kLevel) == 2 * 2 * 1184);
    REQUIRE(cpu::repacked_bytes(DType::Q6_K, 8, 256, kLevel) == 8 * 210);
    std::vector<std::byte> w(cpu::repacked_bytes(DType::Q4_K, 8, 256, kLevel));
    std::vector<float> x(256), y(8);
    REQUIRE_THROWS_AS(cpu::matmul_repacked_f32({DType::Q4_K, w.data(), 8, 256}, x.data(), 1, y.data(),
                                               cpu::SimdLevel::scalar),
                      Error);
    REQUIRE_THROWS_AS(cpu::matmul_repacked_f32({DType::Q4_K, nullptr, 8, 256}, x.data(), 1, y.data(), kLevel), Error);
}
