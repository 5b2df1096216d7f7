// `apr bench` end to end on the vendored nano model: --repetitions gives R
// rates per test with their median and spread, --json one object a program
// can read, --assert-min-tok-s exits 3 below the floor (naming the test) and
// 0 above it. No assertion depends on how fast this machine is: the floors
// are 1e-3 tok/s (any working run passes) and 1e12 tok/s (none can).
#include <catch2/catch.hpp>

#include <simdjson.h>
#include <sys/wait.h>

#include <cstdlib>
#include <string>

#include "support/fixtures.hpp"
#include "support/shell.hpp"

namespace {

apr::test::ShellResult bench(const std::string& args, bool with_stderr = true) {
    const char* cli = std::getenv("APR_CLI");
    REQUIRE(cli != nullptr);
    const std::string model = (apr::test::vendored_models_dir() / "nano" / "nano-q4_k_m.gguf").string();
    return apr::test::run_shell(std::string(cli) + " bench " + model + " " + args + (with_stderr ? " 2>&1" : " 2>/dev/null"));
}

// On the CPU: the thread count asked for is what the report must say (on a GPU
// machine --device auto would run the model on the card, with one host thread).
const std::string kSmall = "--prompt-tokens 8 --gen-tokens 3 --threads 2 --device cpu";

// The command's exit status is 0 and its stdout one JSON document.
simdjson::dom::element json_of(const apr::test::ShellResult& r, simdjson::dom::parser& parser) {
    REQUIRE(WIFEXITED(r.status));
    REQUIRE(WEXITSTATUS(r.status) == 0);
    simdjson::dom::element doc;
    REQUIRE(parser.parse(simdjson::padded_string(r.out)).get(doc) == simdjson::SUCCESS);
    return doc;
}

}  // namespace

TEST_CASE("apr bench --repetitions prints one median and spread per test") {
    const apr::test::ShellResult r = bench(kSmall + " --repetitions 3 --depth 0,16");
    INFO(r.out);
    REQUIRE(WIFEXITED(r.status));
    CHECK(WEXITSTATUS(r.status) == 0);
    CHECK(r.out.find("3 repetitions") != std::string::npos);
    for (const char* test : {"| pp8 @ d0", "| tg3 @ d0", "| pp8 @ d16", "| tg3 @ d16"}) CHECK(r.out.find(test) != std::string::npos);
    CHECK(r.out.find(" ± ") != std::string::npos);
}

TEST_CASE("apr bench --json reports every repetition, the median and the spread") {
    const apr::test::ShellResult r = bench(kSmall + " --repetitions 3 --json", /*with_stderr=*/false);
    INFO(r.out);
    simdjson::dom::parser parser;
    const simdjson::dom::element doc = json_of(r, parser);
    CHECK(int64_t(doc["repetitions"]) == 3);
    CHECK(int64_t(doc["threads"]) == 2);
    simdjson::dom::array results = doc["results"];
    REQUIRE(results.size() == 2);
    const char* kinds[] = {"pp", "tg"};
    const int64_t tokens[] = {8, 3};
    size_t i = 0;
    for (simdjson::dom::element t : results) {
        CHECK(std::string_view(t["kind"]) == kinds[i]);
        CHECK(int64_t(t["tokens"]) == tokens[i]);
        CHECK(int64_t(t["depth"]) == 0);
        simdjson::dom::array rates = t["tok_s"];
        CHECK(rates.size() == 3);
        const double median = double(t["tok_s_median"]), lo = double(t["tok_s_min"]), hi = double(t["tok_s_max"]);
        CHECK(lo > 0);
        CHECK(lo <= median);
        CHECK(median <= hi);
        CHECK(double(t["tok_s_stddev"]) >= 0);
        ++i;
    }
}

TEST_CASE("apr bench --assert-min-tok-s exits 3 below the floor and 0 above it") {
    const apr::test::ShellResult below = bench(kSmall + " --repetitions 1 --assert-min-tok-s 1e12");
    INFO(below.out);
    REQUIRE(WIFEXITED(below.status));
    CHECK(WEXITSTATUS(below.status) == 3);
    CHECK(below.out.find("pp8 @ d0: median") != std::string::npos);
    CHECK(below.out.find("below --assert-min-tok-s") != std::string::npos);

    const apr::test::ShellResult above = bench(kSmall + " --repetitions 1 --assert-min-tok-s 0.001");
    INFO(above.out);
    REQUIRE(WIFEXITED(above.status));
    CHECK(WEXITSTATUS(above.status) == 0);
}

TEST_CASE("apr bench refuses bad --repetitions and --assert-min-tok-s values") {
    for (const char* bad : {"--repetitions 0", "--repetitions x", "--assert-min-tok-s 0", "--assert-min-tok-s -5",
                            "--assert-min-tok-s fast"}) {
        const apr::test::ShellResult r = bench(kSmall + " " + bad);
        INFO(bad << ": " << r.out);
        REQUIRE(WIFEXITED(r.status));
        CHECK(WEXITSTATUS(r.status) == 2);
        CHECK(r.out.find(std::string(bad).substr(0, std::string(bad).find(' '))) != std::string::npos);
    }
}

TEST_CASE("apr bench --sequences decodes B sequences together and reports their summed rate per depth") {
    const apr::test::ShellResult r =
        bench("--prompt-tokens 0 --gen-tokens 3 --threads 2 --device cpu --sequences 1,4 --depth 0,16 --repetitions 2 --json",
              /*with_stderr=*/false);
    INFO(r.out);
    simdjson::dom::parser parser;
    const simdjson::dom::element doc = json_of(r, parser);
    simdjson::dom::array results = doc["results"];
    REQUIRE(results.size() == 4);
    const char* names[] = {"tg3 @ d0", "tg3 x4 @ d0", "tg3 @ d16", "tg3 x4 @ d16"};
    const int64_t sequences[] = {1, 4, 1, 4}, depths[] = {0, 0, 16, 16};
    size_t i = 0;
    for (simdjson::dom::element t : results) {
        CHECK(std::string_view(t["test"]) == names[i]);
        CHECK(std::string_view(t["kind"]) == "tg");
        CHECK(int64_t(t["sequences"]) == sequences[i]);
        CHECK(int64_t(t["depth"]) == depths[i]);
        simdjson::dom::array rates = t["tok_s"];
        CHECK(rates.size() == 2);
        CHECK(double(t["tok_s_min"]) > 0);
        ++i;
    }

    const apr::test::ShellResult table = bench("--prompt-tokens 4 --gen-tokens 2 --threads 2 --device cpu --sequences 3 --repetitions 1");
    INFO(table.out);
    REQUIRE(WIFEXITED(table.status));
    CHECK(WEXITSTATUS(table.status) == 0);
    CHECK(table.out.find("| pp4 @ d0") != std::string::npos);
    CHECK(table.out.find("| tg2 x3 @ d0") != std::string::npos);
    CHECK(table.out.find("| tg2 @ d0") == std::string::npos);  // 1 is not in the list
}

TEST_CASE("apr bench refuses bad --sequences values") {
    for (const char* bad : {"--sequences 0", "--sequences x", "--sequences 2,,4", "--sequences 2000", "--sequences 2 --gen-tokens 0"}) {
        const apr::test::ShellResult r = bench(kSmall + " " + bad);
        INFO(bad << ": " << r.out);
        REQUIRE(WIFEXITED(r.status));
        CHECK(WEXITSTATUS(r.status) == 2);
        CHECK(r.out.find("--sequences") != std::string::npos);
    }
}
