// apr run MODEL_A MODEL_B --trace-diff: a GGUF against its Hugging Face twin
// agrees (exit 0); against a copy whose layer 2 weights are zeroed (written
// with the project's GGUF writer) it names layer 2 (exit 1), in text and JSON.
#include <catch2/catch.hpp>

#include <simdjson.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "apr/model_file.hpp"
#include "support/fixtures.hpp"
#include "support/prerequisites.hpp"
#include "support/shell.hpp"
#include "support/zeroed_model.hpp"

namespace {

struct Output {
    std::string out, err;
    int status = -1;
};

Output run_apr(const std::string& args) {
    const std::filesystem::path cli = apr::test::apr_cli_path();
    REQUIRE(!cli.empty());
    const auto err = std::filesystem::temp_directory_path() / ("apr_test_trace_diff_err_" + std::to_string(getpid()));
    const std::string command = cli.string() + " " + args + " 2> " + err.string();
    const apr::test::ShellResult r = apr::test::run_shell(command);
    Output o;
    o.out = r.out;
    o.status = WEXITSTATUS(r.status);
    o.err = apr::test::read_text_file(err);
    std::filesystem::remove(err);
    return o;
}

const std::string kPrompt = " --prompt 'What is 2+2?' --max-tokens 4 --threads 2";

}  // namespace

TEST_CASE("--trace-diff of a model against itself agrees; against a copy with layer 2 zeroed names layer 2") {
    const auto model = apr::test::vendored_models_dir() / "nano" / "nano-q4_k_m.gguf";
    const auto zeroed = std::filesystem::temp_directory_path() / ("apr_test_zeroed_" + std::to_string(getpid()) + ".gguf");
    apr::test::write_zeroed_layer_copy(model, zeroed, 2);

    const Output same = run_apr("run " + model.string() + " " + model.string() + kPrompt + " --trace-diff");
    CHECK(same.status == 0);
    CHECK(same.err.find("result: the models agree") != std::string::npos);

    const Output text = run_apr("run " + model.string() + " " + zeroed.string() + kPrompt + " --trace-diff");
    CHECK(text.status == 1);
    INFO(text.err);
    CHECK(text.err.find("first divergence at step 0") != std::string::npos);
    CHECK(text.err.find("layer 2 of model B passes its input through unchanged") != std::string::npos);
    CHECK(text.err.find("layer 1     rel diff 0 ") != std::string::npos);  // the layers before agree exactly

    const Output json = run_apr("run " + model.string() + " " + zeroed.string() + kPrompt + " --trace-diff --json");
    CHECK(json.status == 1);
    simdjson::dom::parser parser;
    simdjson::dom::element doc = parser.parse(simdjson::padded_string(json.out));
    CHECK(bool(doc["agree"]) == false);
    simdjson::dom::element d = doc["first_divergence"];
    CHECK(int64_t(d["layer"]) == 2);
    CHECK(std::string_view(d["stage"]) == "layer 2");
    CHECK(std::string_view(d["class"]) == "weights_not_loaded");
    CHECK(int64_t(d["step"]) == 0);
    CHECK(double(d["rel_diff"]) > 0.02);
    simdjson::dom::array steps = doc["steps"];
    REQUIRE(steps.size() == 1);
    simdjson::dom::array layers = steps.at(0)["layers"];
    CHECK(layers.size() == 6);  // embedding, 4 layers, final norm
    CHECK(double(layers.at(1)["rel_diff"]) == 0.0);
    std::filesystem::remove(zeroed);
}

TEST_CASE("--trace-diff of a GGUF against its Hugging Face twin agrees") {
    if (!apr::test::have_fixtures()) APR_SKIP_CASE("needs the shared fixtures (nano HF folder and nano-f16.gguf)");
    const auto dir = apr::test::fixtures_dir() / "nano";
    const Output o = run_apr("run " + (dir / "gguf" / "nano-f16.gguf").string() + " " + dir.string() + kPrompt +
                             " --trace-diff --json");
    CHECK(o.status == 0);
    simdjson::dom::parser parser;
    simdjson::dom::element doc = parser.parse(simdjson::padded_string(o.out));
    CHECK(bool(doc["agree"]) == true);
    CHECK(doc["first_divergence"].is_null());
    simdjson::dom::array steps = doc["steps"];
    CHECK(steps.size() == 2);  // "4", then <|im_end|>
    for (simdjson::dom::element step : steps) CHECK(int64_t(step["token_a"]) == int64_t(step["token_b"]));
}

TEST_CASE("--trace-diff needs two models") {
    const auto model = apr::test::vendored_models_dir() / "nano" / "nano-q4_k_m.gguf";
    CHECK(run_apr("run " + model.string() + kPrompt + " --trace-diff").status == 2);
}
