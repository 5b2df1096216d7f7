// Quantizers against independent truth: the float input itself. Every type
// quantizes known blocks (large magnitudes, outliers, all-equal, tiny,
// mixed-sign, ...) and each dequantized value must stay within a bound that
// follows from the type's design, measured against the input and its block's
// largest magnitude, never against the grid the quantizer chose (a quantizer
// that writes a degenerate grid would agree with itself).
//
// Bounds: a type with b-bit levels spans its block's range in 2^b - 1 steps,
// so rounding misses by at most half a step; llama.cpp's quantizers (which
// these follow) may clip a block's extreme value when that lowers the
// block's total error, so the per-value bound allows up to about one step of
// the sub-block grid. Each bound is listed with the worst ratio measured for
// this implementation over all the data below.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "apr/dtype.hpp"
#include "quant/dequantize.hpp"
#include "quant/quantize.hpp"

using apr::DType;

namespace {

struct Limits {
    DType type;
    double max_error;  // per value, as a share of its block's largest |x|
    double max_rms;    // per block, RMS error as a share of the block's largest |x|
    // The largest product of stored integers that multiplies an f16 scale in
    // one value (level index x sub-block scale). Below f16's normal range
    // (6.1e-5) a scale is rounded in steps of 2^-24, so a value can miss by
    // that product times half a step however good the quantizer is.
    double scale_multiplier;
};

// Worst cases measured for this implementation over the data sets below
// (per value / per block RMS, shares of the block max), then the limits with
// room for other inputs. For reference, plain rounding on a grid of step s
// misses by at most s/2 with an RMS of s/sqrt(12); s = amax/127 for the 8-bit
// types, amax/8 for Q4_0, amax/16 for Q5_0, (max-min)/15 and /31 for Q4_1 and
// Q5_1; clamping the far end (x = -d * 2^(b-1)) can cost a whole step.
// measured:  Q8_0, Q8_1 0.0054 / 0.0028   Q8_K 0.0039 / 0.0024   Q6_K 0.046 / 0.0072
//            Q5_K 0.049 / 0.014    Q5_0 0.062 / 0.024    Q5_1 0.033 / 0.022
//            Q4_K 0.106 / 0.029    Q4_1 0.066 / 0.043    Q4_0 0.124 / 0.047
constexpr Limits kLimits[] = {
    {DType::Q8_0, 0.0045, 0.0035, 127},          {DType::Q8_1, 0.0045, 0.0035, 127},
    {DType::Q8_K, 0.0045, 0.003, 0},             {DType::Q6_K, 0.06, 0.0095, 127 * 32},
    {DType::Q5_K, 0.065, 0.019, 63 * 31 + 63},   {DType::Q5_0, 0.0645, 0.032, 16},
    {DType::Q5_1, 0.04, 0.028, 32},              {DType::Q4_K, 0.14, 0.038, 63 * 15 + 63},
    {DType::Q4_1, 0.075, 0.056, 16},             {DType::Q4_0, 0.13, 0.06, 8},
};
struct DataSet {
    std::string name;
    std::vector<float> values;
};

constexpr int64_t kN = 4096;  // 16 super-blocks of 256, 128 blocks of 32

std::vector<DataSet> data_sets() {
    std::mt19937 rng(20261201);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    auto make = [&](auto&& gen) {
        std::vector<float> v(kN);
        for (int64_t i = 0; i < kN; ++i) v[static_cast<size_t>(i)] = gen(i);
        return v;
    };
    return {
        {"unit gaussian", make([&](int64_t) { return normal(rng); })},
        {"large magnitude (sigma 3000)", make([&](int64_t) { return normal(rng) * 3000.0f; })},
        {"large offset (1e4 + small noise)", make([&](int64_t) { return 1.0e4f + normal(rng); })},
        {"one outlier 1000x per 32 values", make([&](int64_t i) { return i % 32 == 11 ? 1000.0f : normal(rng); })},
        {"one negative outlier per 256 values", make([&](int64_t i) { return i % 256 == 100 ? -500.0f : normal(rng); })},
        {"all equal positive", std::vector<float>(kN, 0.37f)},
        {"all equal negative", std::vector<float>(kN, -12.5f)},
        {"tiny (sigma 1e-3)", make([&](int64_t) { return normal(rng) * 1e-3f; })},
        {"very tiny (sigma 1e-6)", make([&](int64_t) { return normal(rng) * 1e-6f; })},
        {"mixed sign, alternating", make([&](int64_t i) { return (i % 2 ? -1.0f : 1.0f) * (0.5f + std::fabs(normal(rng))); })},
        {"positive only", make([&](int64_t) { return 2.0f + std::fabs(normal(rng)); })},
        {"negative only", make([&](int64_t) { return -2.0f - std::fabs(normal(rng)); })},
        {"scales varying 2^-4..2^4 per 32", make([&](int64_t i) { return normal(rng) * std::ldexp(1.0f, int(i / 32 % 9) - 4); })},
        {"ramp", make([](int64_t i) { return static_cast<float>(i % 256) - 127.5f; })},
        {"zeros", std::vector<float>(kN, 0.0f)},
    };
}

int64_t block_of(DType type) { return apr::dtype_info(type)->block_elements; }

struct BlockCheck {
    double worst_error_ratio = 0;  // max |y - x| / amax over the blocks
    double worst_rmse_ratio = 0;   // max rms(y - x) / rms(x) over the blocks
    int64_t bad_values = 0;
    std::string first_bad;
};

BlockCheck check_blocks(const Limits& limit, const std::vector<float>& x, const std::vector<float>& y) {
    BlockCheck c;
    const int64_t bs = block_of(limit.type);
    for (int64_t b = 0; b < kN / bs; ++b) {
        double amax = 0, sum_x2 = 0, sum_e2 = 0;
        for (int64_t i = b * bs; i < (b + 1) * bs; ++i) {
            amax = std::max(amax, std::fabs(double(x[size_t(i)])));
            sum_x2 += double(x[size_t(i)]) * x[size_t(i)];
        }
        const double floor = limit.scale_multiplier * 0x1p-25;
        const double bound = limit.max_error * amax + floor;
        for (int64_t i = b * bs; i < (b + 1) * bs; ++i) {
            const double e = std::fabs(double(y[size_t(i)]) - x[size_t(i)]);
            sum_e2 += e * e;
            if (amax > 0) c.worst_error_ratio = std::max(c.worst_error_ratio, e / amax);
            if (!(e <= bound)) {  // also catches NaN
                if (c.bad_values++ == 0)
                    c.first_bad = "value " + std::to_string(i) + ": x = " + std::to_string(x[size_t(i)]) +
                                  ", y = " + std::to_string(y[size_t(i)]) + ", block max " + std::to_string(amax);
            }
        }
        (void)sum_x2;
        if (amax > 0 && amax * limit.max_rms > 4 * floor)  // where the f16 floor cannot dominate
            c.worst_rmse_ratio = std::max(c.worst_rmse_ratio, std::sqrt(sum_e2 / double(bs)) / amax);
    }
    return c;
}

std::vector<float> round_trip(DType type, const std::vector<float>& x) {
    std::vector<std::byte> q(apr::dtype_bytes(type, int64_t(x.size())));
    REQUIRE(apr::quant::quantize_row(type, x.data(), q.data(), int64_t(x.size())) == q.size());
    std::vector<float> y(x.size());
    apr::quant::dequantize_row(type, q.data(), y.data(), int64_t(x.size()));
    return y;
}

}  // namespace

TEST_CASE("Every quantizer stays near its float input on every kind of block", "[quant][accuracy]") {
    const auto sets = data_sets();
    int checked = 0;
    for (const auto& limit : kLimits) {
        for (const auto& set : sets) {
            const auto y = round_trip(limit.type, set.values);
            const BlockCheck c = check_blocks(limit, set.values, y);
            INFO(apr::dtype_name(limit.type) << " on " << set.name << ": worst value error " << c.worst_error_ratio
                                             << " of block max (limit " << limit.max_error << "), worst block RMS error "
                                             << c.worst_rmse_ratio << " of block max (limit " << limit.max_rms << ") "
                                             << c.first_bad);
            CHECK(c.bad_values == 0);
            CHECK(c.worst_rmse_ratio <= limit.max_rms);
            if (std::getenv("APR_QUANT_CALIBRATE"))
                std::fprintf(stderr, "calibrate %s %.5f %.5f %s\n", std::string(apr::dtype_name(limit.type)).c_str(),
                             c.worst_error_ratio, c.worst_rmse_ratio, set.name.c_str());
            ++checked;
        }
    }
    CHECK(checked == int(std::size(kLimits) * sets.size()));
}

TEST_CASE("Zeros and exactly representable blocks come back exactly", "[quant][accuracy]") {
    for (const auto& limit : kLimits) {
        INFO(apr::dtype_name(limit.type));
        const auto zeros = round_trip(limit.type, std::vector<float>(kN, 0.0f));
        CHECK(std::all_of(zeros.begin(), zeros.end(), [](float v) { return v == 0.0f; }));
    }
    // 8-bit symmetric types: integers with block max 127 give d = 1 exactly.
    std::vector<float> ints(256);
    for (int i = 0; i < 256; ++i) ints[size_t(i)] = i % 32 == 0 ? 127.0f : float((i * 37) % 255 - 127);
    for (DType type : {DType::Q8_0, DType::Q8_1, DType::Q8_K}) {
        INFO(apr::dtype_name(type));
        CHECK(round_trip(type, ints) == ints);
    }
}

TEST_CASE("Non-finite values spoil only their own block", "[quant][accuracy]") {
    // A NaN or infinity cannot be represented; what matters is that it does
    // not leak into its neighbours: every block without one still meets its
    // type's bound, and the library neither crashes nor throws.
    std::mt19937 rng(7);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> x(kN);
    for (auto& v : x) v = normal(rng);
    const int64_t poisoned[] = {3, 300, 1000};  // blocks 0, 9 (legacy) / super-blocks 0, 1, 3
    x[3] = std::nanf("");
    x[300] = INFINITY;
    x[1000] = -INFINITY;
    for (const auto& limit : kLimits) {
        INFO(apr::dtype_name(limit.type));
        std::vector<float> y;
        REQUIRE_NOTHROW(y = round_trip(limit.type, x));
        const int64_t bs = block_of(limit.type);
        int clean_blocks = 0;
        for (int64_t b = 0; b < kN / bs; ++b) {
            const bool hit = std::any_of(std::begin(poisoned), std::end(poisoned),
                                         [&](int64_t i) { return i / bs == b; });
            if (hit) continue;
            std::vector<float> xb(x.begin() + b * bs, x.begin() + (b + 1) * bs);
            std::vector<float> yb(y.begin() + b * bs, y.begin() + (b + 1) * bs);
            double amax = 0;
            for (float v : xb) amax = std::max(amax, std::fabs(double(v)));
            for (size_t i = 0; i < xb.size(); ++i) {
                if (!(std::fabs(double(yb[i]) - xb[i]) <= limit.max_error * amax + limit.scale_multiplier * 0x1p-25)) {
                    FAIL("block " << b << " value " << i << ": " << xb[i] << " came back as " << yb[i]);
                }
            }
            ++clean_blocks;
        }
        CHECK(clean_blocks >= kN / bs - 3);
    }
}
