// Greedy text of the GGUF conversions against llama.cpp's
// (reference_llama_cpp.json): same prompt ids, default session (f16 KV
// cache), activations quantized as llama.cpp does.
#include <catch2/catch.hpp>

#include "apr/generate.hpp"
#include "apr/model.hpp"
#include "apr/session.hpp"
#include "reference_cases.hpp"

using namespace apr;

namespace {

// Free-text (code) continuations where quantization noise flips a near-tie
// differently in llama.cpp and here (every chat case agrees). The first
// tokens agree; the texts part at a later token whose top two logits are
// within rounding noise of each other (summation order, llama.cpp's SIMD
// exp approximations). HF's own greedy text differs from llama.cpp's on
// these same cases (match_hf is false for each of them).
struct KnownDivergence {
    const char* file;
    size_t case_index;
};
constexpr KnownDivergence kKnownDivergences[] = {
    {"nano-q8_0.gguf", 7},
    {"nano-q8_0.gguf", 8},
    {"nano-q4_k_m.gguf", 8},
};

bool known_divergence(const std::string& file, size_t index) {
    for (const auto& k : kKnownDivergences)
        if (file == k.file && index == k.case_index) return true;
    return false;
}

void check_file(const std::string& file) {
    static const auto hf = test::load_hf_cases();
    static const auto llama = test::load_llama_cpp_cases();
    const auto& ref = llama.at(file);
    REQUIRE(ref.size() == hf.size());
    auto model = Model::load(test::fixtures_dir() / "nano" / "gguf" / file, ModelParams{});
    Session session(*model);
    for (size_t i = 0; i < hf.size(); ++i) {
        REQUIRE(ref[i].prompt_text == hf[i].prompt_text);
        session.reset();
        GenerateParams params;
        params.max_tokens = 32;
        const GenerateResult r = generate(session, hf[i].prompt_ids, params);
        INFO(file << " case " << i << " (" << hf[i].kind << "): " << hf[i].prompt_text);
        if (hf[i].kind == "chat" || !known_divergence(file, i)) {
            CHECK(r.text == ref[i].text);
        } else {
            WARN("known divergence from llama.cpp: ours " << r.text << " | llama.cpp " << ref[i].text);
            CHECK(r.text != ref[i].text);  // flips to CHECK failure when it starts agreeing: update the list
        }
    }
}

}  // namespace

TEST_CASE("nano-q8_0.gguf: greedy text equals llama.cpp's") { check_file("nano-q8_0.gguf"); }
TEST_CASE("nano-q4_0.gguf: greedy text equals llama.cpp's") { check_file("nano-q4_0.gguf"); }
TEST_CASE("nano-q4_k_m.gguf: greedy text equals llama.cpp's") { check_file("nano-q4_k_m.gguf"); }
