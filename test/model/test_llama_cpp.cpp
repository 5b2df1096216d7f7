// Greedy text of the GGUF conversions against llama.cpp's
// (reference_llama_cpp.json): same prompt ids, default session (f16 KV
// cache), activations quantized as llama.cpp does.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>

#include "apr/generate.hpp"
#include "apr/model.hpp"
#include "apr/session.hpp"
#include "reference_cases.hpp"
#include "support/shell.hpp"

using namespace apr;

namespace {

// The one free-text case that parts from llama.cpp: nano-q8_0 case 7
// ("def fibonacci(n):") with the AVX2 / AVX-512 matmul kernels. The texts
// agree for their first 60 bytes, then a near-tie flips ("brace" against
// b"\n") because the SIMD Q8_0 dot products sum in another order than
// llama.cpp's. With APR_SIMD=scalar every case of every file agrees.
// (Before the f16 KV cache followed llama.cpp's flash-attention numerics,
// q8_0 case 8 and q4_k_m case 8 differed as well.)
struct KnownDivergence {
    const char* file;
    size_t case_index;
};
constexpr KnownDivergence kKnownDivergences[] = {
    {"nano-q8_0.gguf", 7},
};

size_t common_prefix(const std::string& a, const std::string& b) {
    size_t n = 0;
    while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
    return n;
}

bool known_divergence(const std::string& file, size_t index) {
    for (const auto& k : kKnownDivergences)
        if (file == k.file && index == k.case_index) return true;
    return false;
}

void check_file(const std::string& file) {
    static const auto hf = test::load_hf_cases();
    static const auto llama = test::load_llama_cpp_cases();
    const auto& ref = llama.at(file);
    REQUIRE(hf.size() == 10);  // 7 chat + 3 raw prompts in reference_hf.json
    REQUIRE(ref.size() == hf.size());
    size_t exact = 0, chat = 0;
    auto model = Model::load(test::fixtures_dir() / "nano" / "gguf" / file, ModelParams{});
    Session session(*model);
    for (size_t i = 0; i < hf.size(); ++i) {
        REQUIRE(ref[i].prompt_text == hf[i].prompt_text);
        session.reset();
        GenerateParams params;
        params.max_tokens = 32;
        const GenerateResult r = generate(session, hf[i].prompt_ids, params);
        INFO(file << " case " << i << " (" << hf[i].kind << "): " << hf[i].prompt_text);
        if (hf[i].kind == "chat") ++chat;
        if (hf[i].kind == "chat" || !known_divergence(file, i)) {
            CHECK(r.text == ref[i].text);
            ++exact;
        } else {
            // Agrees, or parts late (a near-tie), never early.
            if (r.text != ref[i].text) WARN("known divergence from llama.cpp: ours " << r.text << " | llama.cpp " << ref[i].text);
            CHECK(common_prefix(r.text, ref[i].text) >= 40);
        }
    }
    CHECK(chat == 7);
    CHECK(exact >= 9);  // at most one known near-tie per file
}

}  // namespace

TEST_CASE("nano-q8_0.gguf: greedy text equals llama.cpp's") { check_file("nano-q8_0.gguf"); }
TEST_CASE("nano-q4_0.gguf: greedy text equals llama.cpp's") { check_file("nano-q4_0.gguf"); }
TEST_CASE("nano-q4_k_m.gguf: greedy text equals llama.cpp's") { check_file("nano-q4_k_m.gguf"); }

TEST_CASE("apr run with the fixtures' nano-q4_k_m.gguf prints 4") {
    const char* cli = std::getenv("APR_CLI");  // set by test/model/meson.build
    REQUIRE(cli != nullptr);
    const std::string command = std::string(cli) + " run " +
                                (test::fixtures_dir() / "nano" / "gguf" / "nano-q4_k_m.gguf").string() +
                                " --prompt 'What is 2+2? Answer with just the number.' --max-tokens 10 2>/dev/null";
    const test::ShellResult r = test::run_shell(command);
    CHECK(r.status == 0);
    CHECK(r.out == "4\n");
}
