// `apr run` end to end: the binary (path in APR_CLI, set by meson) answers the
// documented question with the vendored model, and --json carries the fields
// the CLI promises.
#include <catch2/catch.hpp>

#include <simdjson.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "support/fixtures.hpp"
#include "support/shell.hpp"

namespace {

std::string run(const std::string& args, int* status) {
    const char* cli = std::getenv("APR_CLI");
    REQUIRE(cli != nullptr);
    const std::string command = std::string(cli) + " run " + args + " 2>/dev/null";
    const apr::test::ShellResult r = apr::test::run_shell(command);
    *status = r.status;
    return r.out;
}

const std::string kQuestion = "--prompt 'What is 2+2? Answer with just the number.' --max-tokens 10";

}  // namespace

TEST_CASE("apr run with the vendored Q4_K_M model prints 4") {
    int status = -1;
    const std::string model = (apr::test::vendored_models_dir() / "nano" / "nano-q4_k_m.gguf").string();
    CHECK(run(model + " " + kQuestion, &status) == "4\n");
    CHECK(status == 0);
    // without MODEL: the bundled default model
    CHECK(run(kQuestion, &status) == "4\n");
    CHECK(status == 0);
}

TEST_CASE("apr run --json reports text, tokens, counts, finish reason, timings and logprobs") {
    int status = -1;
    const std::string out = run(kQuestion + " --json --logprobs 3", &status);
    REQUIRE(status == 0);
    simdjson::dom::parser parser;
    simdjson::dom::element doc = parser.parse(simdjson::padded_string(out));
    CHECK(std::string_view(doc["text"]) == "4");
    simdjson::dom::array tokens = doc["tokens"];
    REQUIRE(tokens.size() == 2);
    CHECK(int64_t(tokens.at(1)) == 2018);
    CHECK(int64_t(doc["completion_tokens"]) == 2);
    CHECK(int64_t(doc["prompt_tokens"]) > 10);
    CHECK(std::string_view(doc["finish_reason"]) == "stop");
    CHECK(double(doc["timings"]["prompt_ms"]) > 0);
    CHECK(double(doc["timings"]["gen_tok_per_s"]) > 0);
    simdjson::dom::array logprobs = doc["logprobs"];
    REQUIRE(logprobs.size() == 2);
    simdjson::dom::element first = logprobs.at(0);
    CHECK(int64_t(first["id"]) == int64_t(tokens.at(0)));
    simdjson::dom::array top = first["top_logprobs"];
    REQUIRE(top.size() == 3);
    CHECK(int64_t(top.at(0)["id"]) == int64_t(tokens.at(0)));
    CHECK(double(top.at(0)["logprob"]) <= 0);
    CHECK(double(top.at(0)["logprob"]) >= double(top.at(1)["logprob"]));
}

TEST_CASE("apr run rejects bad flags with exit code 2 and bad models with 1") {
    int status = -1;
    run("--max-tokens 3", &status);  // no --prompt
    CHECK(WEXITSTATUS(status) == 2);
    run("--prompt hi --temperature -1", &status);
    CHECK(WEXITSTATUS(status) == 2);
    run("--prompt hi --top-p 2", &status);  // checked even when greedy
    CHECK(WEXITSTATUS(status) == 2);
    run("/no/such/model.gguf --prompt hi --min-p 7", &status);  // flags before the model is opened
    CHECK(WEXITSTATUS(status) == 2);
    run("/no/such/model.gguf --prompt hi", &status);
    CHECK(WEXITSTATUS(status) == 1);
}
