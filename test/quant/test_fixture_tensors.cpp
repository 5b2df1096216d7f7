// Every tensor of the nano model's GGUF files (converted and quantized by
// llama.cpp) dequantizes to the bf16 weights of model.safetensors within the
// error its type allows:
// - F32 (norms, biases): exactly the bf16 value.
// - F16: exactly the bf16 value in f16's normal range (bf16 -> f16 is exact
//   there); below 2^-14, within half of f16's subnormal step.
// - Q8_0, Q4_0, Q4_K, Q6_K: each value is the point of its block's stored
//   grid nearest to the bf16 value (up to the f16 rounding of the block scale
//   for the legacy types), and - a plainer bound - within half a grid step of
//   it wherever the value lies inside the grid's span.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "apr/model_file.hpp"
#include "core/half.hpp"
#include "quant/dequantize.hpp"
#include "quant/quant_grids.hpp"
#include "support/fixtures.hpp"

using apr::DType;

namespace {

std::filesystem::path nano_dir() { return apr::test::fixtures_dir() / "nano"; }

const apr::ModelFile& reference_model() {
    static const std::unique_ptr<apr::ModelFile> file = apr::open_model_file(nano_dir() / "model.safetensors");
    return *file;
}

struct TypeStats {
    int tensors = 0;
    int64_t values = 0;
    double max_error_in_steps = 0;  // largest |x - y| / |grid step| (quantized types)
    int64_t subnormal_f16 = 0;      // F16 values below f16's normal range
};

// Checks one GGUF tensor against its bf16 original; returns the number of
// values outside their bound (reporting the first few).
int64_t check_tensor(const apr::TensorView& q, const std::vector<float>& x, TypeStats& stats) {
    const std::vector<float> y = apr::quant::dequantize(q);
    REQUIRE(y.size() == x.size());
    int64_t bad = 0;
    auto report = [&](size_t i, float bound) {
        if (++bad <= 3) {
            INFO(q.name << " (" << apr::dtype_name(q.dtype) << ") value " << i << ": bf16 " << x[i] << ", dequantized "
                        << y[i] << ", bound " << bound);
            CHECK(std::fabs(x[i] - y[i]) <= bound);
        }
    };
    if (q.dtype == DType::F32) {
        for (size_t i = 0; i < x.size(); ++i)
            if (y[i] != x[i]) report(i, 0.0f);
        return bad;
    }
    if (q.dtype == DType::F16) {
        // bf16 has 8 mantissa bits, f16 11: within f16's normal range the
        // value survives exactly, so converting back gives the stored bf16
        // bits. Below 2^-14 f16 is subnormal with a fixed step of 2^-24, and
        // the converter rounded to it.
        for (size_t i = 0; i < x.size(); ++i) {
            if (std::fabs(x[i]) >= 0x1p-14f) {
                if (apr::f32_to_bf16(y[i]) != apr::f32_to_bf16(x[i]) || y[i] != x[i]) report(i, 0.0f);
            } else {
                ++stats.subnormal_f16;
                if (!(std::fabs(x[i] - y[i]) <= 0x1p-25f)) report(i, 0x1p-25f);
            }
        }
        return bad;
    }
    const int64_t cols = q.cols();
    const size_t row_bytes = apr::dtype_bytes(q.dtype, cols);
    for (int64_t r = 0; r < q.rows(); ++r) {
        const std::vector<std::byte> row(q.data + r * row_bytes, q.data + (r + 1) * row_bytes);
        const auto grids = apr::quant::test::grids_of(q.dtype, row, cols);
        for (int64_t c = 0; c < cols; ++c) {
            const size_t i = static_cast<size_t>(r * cols + c);
            const auto& g = grids[static_cast<size_t>(c)];
            const float err = std::fabs(x[i] - y[i]);
            const float rounding = 1e-5f * (std::fabs(g.step) + std::fabs(g.base)) + 1e-6f * std::fabs(x[i]) + 1e-30f;
            const float nearest_bound = g.distance(x[i]) + g.slack + rounding;
            if (!(err <= nearest_bound)) report(i, nearest_bound);
            // Inside the grid's span the nearest point is at most half a step away.
            const float lo = std::fmin(g.base, g.base + g.step * static_cast<float>(g.levels - 1));
            const float hi = std::fmax(g.base, g.base + g.step * static_cast<float>(g.levels - 1));
            const float half_step = 0.5f * std::fabs(g.step) + g.slack + rounding;
            if (x[i] >= lo && x[i] <= hi && !(err <= half_step)) report(i, half_step);
            if (g.step != 0.0f)
                stats.max_error_in_steps = std::fmax(stats.max_error_in_steps, err / std::fabs(g.step));
        }
    }
    return bad;
}

std::map<DType, TypeStats> check_gguf(const std::string& file_name) {
    const auto gguf = apr::open_model_file(nano_dir() / "gguf" / file_name);
    const auto& reference = reference_model();
    // nano has 50 tensors (tied embeddings, 4 layers of 12, the final norm):
    // a file that lost tensors must fail, not compare fewer.
    REQUIRE(reference.tensors().size() == 50);
    CHECK(gguf->tensors().size() == reference.tensors().size());
    std::map<DType, TypeStats> stats;
    for (const auto& tensor : gguf->tensors()) {
        INFO(file_name << ": tensor " << tensor.name);
        const apr::TensorView* original = reference.find_tensor(tensor.name);
        REQUIRE(original != nullptr);
        CHECK(original->dtype == DType::BF16);
        REQUIRE(original->shape == tensor.shape);
        const std::vector<float> x = apr::quant::dequantize(*original);
        TypeStats& s = stats[tensor.dtype];
        CHECK(check_tensor(tensor, x, s) == 0);
        ++s.tensors;
        s.values += tensor.elements();
    }
    int64_t compared = 0;
    for (const auto& [type, s] : stats) compared += s.tensors;
    CHECK(compared == 50);
    for (const auto& [type, s] : stats)
        WARN(file_name << ": " << s.tensors << " " << apr::dtype_name(type) << " tensors, " << s.values
                       << " values, largest error " << s.max_error_in_steps << " grid steps, "
                       << s.subnormal_f16 << " f16 subnormals");
    return stats;
}

std::set<DType> types_of(const std::map<DType, TypeStats>& stats) {
    std::set<DType> types;
    for (const auto& [type, s] : stats) types.insert(type);
    return types;
}

}  // namespace

TEST_CASE("nano-f16.gguf: F16 and F32 tensors equal the bf16 weights", "[quant][fixtures]") {
    const auto stats = check_gguf("nano-f16.gguf");
    CHECK(types_of(stats) == std::set<DType>{DType::F32, DType::F16});
}

TEST_CASE("nano-q8_0.gguf: Q8_0 tensors are within the f16-scaled grid of the bf16 weights", "[quant][fixtures]") {
    const auto stats = check_gguf("nano-q8_0.gguf");
    CHECK(stats.count(DType::Q8_0) == 1);
    CHECK(stats.at(DType::Q8_0).max_error_in_steps <= 0.5 + 2 * 127 * 0x1p-11);
}

TEST_CASE("nano-q4_0.gguf: Q4_0 tensors are the nearest points of their grids", "[quant][fixtures]") {
    const auto stats = check_gguf("nano-q4_0.gguf");
    CHECK(stats.count(DType::Q4_0) == 1);
}

TEST_CASE("nano-q4_k_m.gguf: Q4_K and Q6_K tensors are the nearest points of their grids", "[quant][fixtures]") {
    const auto stats = check_gguf("nano-q4_k_m.gguf");
    CHECK(stats.count(DType::Q4_K) == 1);
    CHECK(stats.count(DType::Q6_K) == 1);
}
