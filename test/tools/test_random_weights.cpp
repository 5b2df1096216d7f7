// apr-make-random-model's random data: deterministic per (seed, tensor, row),
// independent of the thread count, with the intended spread, and quantized
// rows that dequantize back close to the drawn values.
#include <catch2/catch.hpp>
#include <tbb/global_control.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "apr/error.hpp"
#include "core/half.hpp"
#include "quant/dequantize.hpp"
#include "tools/fast_kquant.hpp"
#include "tools/random_weights.hpp"

using namespace apr;
using namespace apr::tools;

namespace {

struct Stats {
    double mean = 0, stddev = 0, max_abs_dev = 0;
};

Stats stats_of(const std::vector<float>& v, double center) {
    Stats s;
    for (float x : v) s.mean += x;
    s.mean /= static_cast<double>(v.size());
    for (float x : v) {
        s.stddev += (x - s.mean) * (x - s.mean);
        s.max_abs_dev = std::max(s.max_abs_dev, std::abs(x - center));
    }
    s.stddev = std::sqrt(s.stddev / static_cast<double>(v.size()));
    return s;
}

std::vector<std::byte> make(const PlannedTensor& t, uint64_t seed) {
    std::vector<std::byte> out(dtype_bytes(t.dtype, t.elements()));
    make_tensor_data(t, seed, out);
    return out;
}

}  // namespace

TEST_CASE("random rows have the intended center and spread") {
    std::vector<float> w(1 << 16), n(1 << 16);
    fill_random_row(42, "blk.0.attn_q.weight", 0, InitKind::weight, w);
    fill_random_row(42, "blk.0.attn_norm.weight", 0, InitKind::norm, n);
    const Stats sw = stats_of(w, 0.0), sn = stats_of(n, 1.0);
    CHECK(std::abs(sw.mean) < 0.001);
    CHECK(sw.stddev == Approx(0.02).epsilon(0.03));
    CHECK(sw.max_abs_dev <= 0.02 * std::sqrt(3.0) * 2 + 1e-6);  // Irwin-Hall(4) is bounded at 2*sqrt(3) sigma
    CHECK(sn.mean == Approx(1.0).margin(0.001));
    CHECK(sn.stddev == Approx(0.02).epsilon(0.03));
}

TEST_CASE("random rows depend on seed, tensor and row, and nothing else") {
    std::vector<float> a(512), b(512), c(512), d(512), e(512);
    fill_random_row(7, "t", 3, InitKind::weight, a);
    fill_random_row(7, "t", 3, InitKind::weight, b);
    fill_random_row(8, "t", 3, InitKind::weight, c);
    fill_random_row(7, "u", 3, InitKind::weight, d);
    fill_random_row(7, "t", 4, InitKind::weight, e);
    CHECK(a == b);
    CHECK(a != c);
    CHECK(a != d);
    CHECK(a != e);
}

TEST_CASE("tensor bytes do not depend on the thread count") {
    const PlannedTensor t{"blk.1.ffn_up.weight", {300, 512}, DType::Q4_K, InitKind::weight};
    std::vector<std::byte> one, two;
    {
        tbb::global_control limit(tbb::global_control::max_allowed_parallelism, 1);
        one = make(t, 5);
    }
    {
        tbb::global_control limit(tbb::global_control::max_allowed_parallelism, 2);
        two = make(t, 5);
    }
    CHECK(one == two);
    CHECK(one != make(t, 6));
}

TEST_CASE("each stored type holds the drawn values") {
    const int64_t rows = 40, cols = 768;
    for (KQuantizer quantizer : {KQuantizer::fast, KQuantizer::library}) {
        for (DType type : {DType::F32, DType::F16, DType::Q8_0, DType::Q4_K, DType::Q6_K}) {
            INFO("type " << dtype_name(type) << (quantizer == KQuantizer::fast ? ", fast" : ", library"));
            const PlannedTensor t{"blk.2.attn_output.weight", {rows, cols}, type, InitKind::weight};
            std::vector<std::byte> bytes(dtype_bytes(type, t.elements()));
            make_tensor_data(t, 11, bytes, quantizer);
            const size_t row_bytes = bytes.size() / rows;
            // The drawn values span about +-0.07; a 4-bit grid over a 32-value
            // sub-block's range has steps near 0.009, a 6-bit one near 0.002.
            // Mean errors stay below a third of a step, the worst below one.
            const double mean_tolerance = type == DType::Q4_K ? 0.003 : type == DType::Q6_K ? 0.0008 : type == DType::Q8_0 ? 3e-4 : 1e-5;
            const double max_tolerance = type == DType::Q4_K ? 0.01 : type == DType::Q6_K ? 0.0025 : type == DType::Q8_0 ? 6e-4 : 2e-5;
            for (int64_t row : {int64_t{0}, rows / 2, rows - 1}) {
                std::vector<float> drawn(cols), stored(cols);
                fill_random_row(11, t.name, row, t.init, drawn);
                quant::dequantize_row(type, bytes.data() + row * row_bytes, stored.data(), cols);
                double err = 0, worst = 0;
                for (int64_t i = 0; i < cols; ++i) {
                    err += std::abs(drawn[i] - stored[i]);
                    worst = std::max<double>(worst, std::abs(drawn[i] - stored[i]));
                }
                CHECK(err / cols < mean_tolerance);
                CHECK(worst < max_tolerance);
            }
        }
    }
}

TEST_CASE("the fast K quantizers handle constant, zero and one-signed rows") {
    for (float fill : {0.0f, 0.5f, -0.25f}) {
        std::vector<float> x(256, fill), back(256);
        x[7] = fill * 2;  // one outlier
        std::vector<std::byte> q4(dtype_bytes(DType::Q4_K, 256)), q6(dtype_bytes(DType::Q6_K, 256));
        fast_quantize_q4_k(x.data(), q4.data(), 256);
        quant::dequantize_row(DType::Q4_K, q4.data(), back.data(), 256);
        for (int i = 0; i < 256; ++i) CHECK(back[i] == Approx(x[i]).margin(std::abs(fill) * 0.1 + 1e-6));
        fast_quantize_q6_k(x.data(), q6.data(), 256);
        quant::dequantize_row(DType::Q6_K, q6.data(), back.data(), 256);
        for (int i = 0; i < 256; ++i) CHECK(back[i] == Approx(x[i]).margin(std::abs(fill) * 0.05 + 1e-6));
    }
}

TEST_CASE("rows that are not whole blocks are refused") {
    const PlannedTensor t{"x", {2, 384}, DType::Q4_K, InitKind::weight};  // 768 values = 3 blocks, 1.5 per row
    std::vector<std::byte> out(dtype_bytes(DType::Q4_K, 768));
    CHECK_THROWS_AS(make_tensor_data(t, 1, out), Error);
}

TEST_CASE("a wrongly sized buffer is an error, not a write past its end") {
    const PlannedTensor t{"x", {4, 256}, DType::Q4_K, InitKind::weight};
    std::vector<std::byte> small(dtype_bytes(DType::Q4_K, 4 * 256) - 1);
    CHECK_THROWS_AS(make_tensor_data(t, 1, small), Error);
}
