// inspect_json (what `apr inspect --json` and the C ABI print) for every
// fixture model, parsed back with simdjson; and the built `apr inspect --json`
// run on the vendored model.
#include <catch2/catch.hpp>
#include <simdjson.h>
#include <unistd.h>

#include <array>
#include <cstdio>

#include "apr/model_file.hpp"
#include "support/fixtures.hpp"

namespace {

struct Expected {
    std::string path;
    std::string format;
    int64_t tensor_count;
    int64_t hidden, layers, heads, kv_heads, head_dim, ffn, vocab, context;
    bool tied;
    int64_t tokenizer_vocab;
};

void check_inspect(const std::string& json_text, const Expected& x) {
    simdjson::dom::parser parser;
    simdjson::dom::element doc = parser.parse(simdjson::padded_string(json_text));
    CHECK(std::string_view(doc["format"]) == x.format);
    CHECK(std::string_view(doc["architecture"]) == "qwen2");
    const auto config = doc["config"];
    CHECK(int64_t(config["hidden_size"]) == x.hidden);
    CHECK(int64_t(config["num_layers"]) == x.layers);
    CHECK(int64_t(config["num_heads"]) == x.heads);
    CHECK(int64_t(config["num_kv_heads"]) == x.kv_heads);
    CHECK(int64_t(config["head_dim"]) == x.head_dim);
    CHECK(int64_t(config["intermediate_size"]) == x.ffn);
    CHECK(int64_t(config["vocab_size"]) == x.vocab);
    CHECK(double(config["rope_theta"]) == 1e6);
    CHECK(double(config["rms_norm_eps"]) == 1e-6);
    CHECK(bool(config["tied_embeddings"]) == x.tied);
    CHECK(int64_t(config["context_length"]) == x.context);
    const auto tokenizer = doc["tokenizer"];
    CHECK(std::string_view(tokenizer["model"]) == "gpt2");
    CHECK(std::string_view(tokenizer["pre_tokenizer"]) == "qwen2");
    CHECK(int64_t(tokenizer["vocab_size"]) == x.tokenizer_vocab);
    CHECK(bool(tokenizer["chat_template"]));
    CHECK(int64_t(tokenizer["special_tokens"]["eos"]) == (x.hidden == 512 ? 2018 : 151645));
    CHECK(int64_t(doc["tensor_count"]) == x.tensor_count);
    simdjson::dom::array tensors = doc["tensors"];
    CHECK(static_cast<int64_t>(tensors.size()) == x.tensor_count);
    bool saw_embedding = false;
    for (simdjson::dom::element t : tensors) {
        const std::string_view name = t["name"];
        std::string_view type = t["type"];
        CHECK(!type.empty());
        simdjson::dom::array shape = t["shape"];
        CHECK((shape.size() == 1 || shape.size() == 2));
        CHECK(int64_t(t["bytes"]) > 0);
        if (name == "token_embd.weight") {
            saw_embedding = true;
            CHECK(int64_t(shape.at(0)) == x.vocab);
            CHECK(int64_t(shape.at(1)) == x.hidden);
        }
    }
    CHECK(saw_embedding == (x.tensor_count > 0));
}

std::string run_and_capture(const std::string& command) {
    std::string out;
    FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::array<char, 4096> buffer;
    size_t n;
    while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) out.append(buffer.data(), n);
    const int status = ::pclose(pipe);
    CHECK(status == 0);
    return out;
}

}  // namespace

TEST_CASE("inspect JSON of every fixture model") {
    const auto fx = apr::test::fixtures_dir();
    const std::vector<Expected> cases = {
        {(fx / "nano/gguf/nano-f16.gguf").string(), "gguf", 50, 512, 4, 4, 2, 128, 1024, 2048, 2048, true, 2048},
        {(fx / "nano/gguf/nano-q8_0.gguf").string(), "gguf", 50, 512, 4, 4, 2, 128, 1024, 2048, 2048, true, 2048},
        {(fx / "nano/gguf/nano-q4_0.gguf").string(), "gguf", 50, 512, 4, 4, 2, 128, 1024, 2048, 2048, true, 2048},
        {(fx / "nano/gguf/nano-q4_k_m.gguf").string(), "gguf", 50, 512, 4, 4, 2, 128, 1024, 2048, 2048, true, 2048},
        {(fx / "qwen2.5-tokenizer/qwen2.5-vocab.gguf").string(), "gguf", 0, 1536, 28, 12, 2, 128, 8960, 151936, 32768,
         false, 151936},
        {(fx / "nano").string(), "hf_directory", 50, 512, 4, 4, 2, 128, 1024, 2048, 2048, true, 2038},
    };
    for (const auto& x : cases) {
        INFO(x.path);
        const auto file = apr::open_model_file(x.path);
        check_inspect(apr::inspect_json(*file), x);
    }
}

TEST_CASE("the built apr inspect --json prints the same object") {
    char self[4096];
    const ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
    REQUIRE(n > 0);
    self[n] = '\0';
    // test/<program> -> examples/apr in the same build folder.
    const auto apr_exe = std::filesystem::path(self).parent_path().parent_path() / "examples" / "apr";
    if (!std::filesystem::exists(apr_exe)) {
        WARN("apr is not built beside this test program (" << apr_exe << "); skipping");
        return;
    }
    const auto model = apr::test::vendored_models_dir() / "nano" / "nano-q4_k_m.gguf";
    const std::string out = run_and_capture(apr_exe.string() + " inspect --json '" + model.string() + "'");
    check_inspect(out, {model.string(), "gguf", 50, 512, 4, 4, 2, 128, 1024, 2048, 2048, true, 2048});
    CHECK(out == apr::inspect_json(*apr::open_model_file(model)) + "\n");
    // A bad path: non-zero exit, message on stderr, nothing on stdout.
    const std::string bad = run_and_capture("'" + apr_exe.string() + "' inspect --json /no/such.gguf 2>/dev/null; echo rc=$?");
    CHECK(bad == "rc=1\n");
}
