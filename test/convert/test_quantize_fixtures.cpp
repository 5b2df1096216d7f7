// apr::quantize_model on the nano HF folder: the Q4_K_M recipe gives each
// tensor the type llama.cpp's Q4_K_M fixture has, the weight RMSE per type
// is within 5% of that fixture's (against the same bf16 weights), and the
// quantized model answers the chat cases as transformers does.
#include "convert_test_support.hpp"

#include <cmath>
#include <map>

#include "apr/convert.hpp"
#include "quant/dequantize.hpp"

using namespace apr;

namespace {

struct Rmse {
    double squares = 0;
    int64_t n = 0;
    double value() const { return std::sqrt(squares / static_cast<double>(n)); }
};

// RMSE per type of `file`'s tensors against the HF folder's values.
std::map<DType, Rmse> rmse_against_hf(const ModelFile& file, const ModelFile& hf) {
    std::map<DType, Rmse> out;
    for (const TensorView& t : file.tensors()) {
        const std::vector<float> a = quant::dequantize(t), b = quant::dequantize(hf.tensor(t.name));
        REQUIRE(a.size() == b.size());
        Rmse& r = out[t.dtype];
        for (size_t i = 0; i < a.size(); ++i) r.squares += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
        r.n += static_cast<int64_t>(a.size());
    }
    return out;
}

}  // namespace

TEST_CASE("quantize HF folder -> Q4_K_M: llama.cpp's types, RMSE within 5% of its fixture, chat answers") {
    test::TempDir dir;
    const auto out = dir / "nano-q4_k_m.apr";
    QuantizeParams params;
    params.type = "q4_k_m";
    const QuantizeReport report = quantize_model(test::nano_dir(), out, params);
    const auto ours = open_model_file(out);
    const auto fixture = open_model_file(test::nano_gguf("nano-q4_k_m.gguf"));
    const auto hf = open_model_file(test::nano_dir());

    // Same type for every tensor as llama-quantize chose.
    REQUIRE(ours->tensors().size() == fixture->tensors().size());
    for (const TensorView& t : fixture->tensors()) {
        INFO(t.name);
        CHECK(ours->tensor(t.name).dtype == t.dtype);
    }

    // The reported RMSE is what the file holds; per type, within 5% of llama.cpp's.
    const auto measured = rmse_against_hf(*ours, *hf);
    const auto reference = rmse_against_hf(*fixture, *hf);
    for (const QuantizeError& e : report.per_type) {
        INFO(dtype_name(e.type) << ": reported " << e.rmse << ", file " << measured.at(e.type).value()
                                << ", llama.cpp " << reference.at(e.type).value());
        CHECK(std::abs(e.rmse - measured.at(e.type).value()) <= 1e-9 + 1e-6 * e.rmse);
        if (e.type == DType::F32) {
            CHECK(e.rmse == 0.0);
            continue;
        }
        CHECK(e.rmse <= 1.05 * reference.at(e.type).value());
        WARN(dtype_name(e.type) << " RMSE: libapr " << e.rmse << ", llama.cpp " << reference.at(e.type).value());
    }

    // The 7 chat cases answer as transformers does.
    const auto ids = test::greedy_ids(out);
    int chat = 0;
    for (size_t i = 0; i < test::hf_cases().size(); ++i) {
        const test::HfCase& c = test::hf_cases()[i];
        if (c.kind != "chat") continue;
        ++chat;
        INFO("case " << i << ": " << c.prompt_text);
        std::vector<int32_t> expected = c.greedy_ids;
        CHECK(std::vector<int32_t>(ids[i].begin(), ids[i].begin() + std::min(ids[i].size(), expected.size())) ==
              expected);
    }
    CHECK(chat == 7);
}

TEST_CASE("quantize: Q8_0 to GGUF, errors for unknown types and quantized sources") {
    test::TempDir dir;
    QuantizeParams params;
    params.type = "q8_0";
    const QuantizeReport report = quantize_model(test::nano_dir(), dir / "q8.gguf", params);
    const auto file = open_model_file(dir / "q8.gguf");
    CHECK(file->format() == FileFormat::gguf);
    CHECK(file->tensor("blk.0.attn_q.weight").dtype == DType::Q8_0);
    CHECK(file->tensor("token_embd.weight").dtype == DType::Q8_0);  // Q8_0 keeps the output at Q8_0
    CHECK(file->tensor("blk.0.attn_norm.weight").dtype == DType::F32);
    for (const QuantizeError& e : report.per_type)
        if (e.type == DType::Q8_0) CHECK(e.rmse < 2e-3);
    params.type = "q3_xx";
    CHECK_THROWS_WITH(quantize_model(test::nano_dir(), dir / "x.apr", params), Catch::Contains("unknown type 'q3_xx'"));
    params.type = "q4_k_m";
    CHECK_THROWS_WITH(quantize_model(test::nano_gguf("nano-q8_0.gguf"), dir / "x.apr", params),
                      Catch::Contains("already quantized"));
    CHECK(!std::filesystem::exists(dir / "x.apr"));
}
