// The tracing modes of apr run and apr chat, asserted on content: the
// numbers are present and consistent (per-layer times add up to the pass
// time within 10%, the layer count is the model's, the Chrome trace parses
// with its keys), from the GGUF file, the Hugging Face folder and an APR file.
#include <catch2/catch.hpp>

#include <simdjson.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "support/fixtures.hpp"
#include "support/prerequisites.hpp"
#include "support/shell.hpp"

namespace {

struct Output {
    std::string out, err;
    int status = -1;
};

std::filesystem::path temp_dir(const std::string& name) {
    const auto dir = std::filesystem::temp_directory_path() / ("apr_test_trace_" + name + "_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    return dir;
}

Output run_apr(const std::string& args, const std::string& input = "", const std::string& env = "") {
    const std::filesystem::path cli = apr::test::apr_cli_path();
    REQUIRE(!cli.empty());
    const auto dir = temp_dir("io");
    const auto in = dir / "in.txt", err = dir / "err.txt";
    {
        FILE* f = std::fopen(in.c_str(), "wb");
        REQUIRE(f != nullptr);
        std::fwrite(input.data(), 1, input.size(), f);
        std::fclose(f);
    }
    const std::string command = env + " " + cli.string() + " " + args + " < " + in.string() + " 2> " + err.string();
    const apr::test::ShellResult r = apr::test::run_shell(command);
    Output o;
    o.out = r.out;
    o.status = WEXITSTATUS(r.status);
    o.err = apr::test::read_text_file(err);
    return o;
}

std::string gguf() { return (apr::test::vendored_models_dir() / "nano" / "nano-q4_k_m.gguf").string(); }

// The GGUF, the HF folder (when the fixtures are there) and an APR import of the GGUF.
std::vector<std::string> models() {
    std::vector<std::string> m{gguf()};
    if (apr::test::have_fixtures()) m.push_back((apr::test::fixtures_dir() / "nano").string());
    else WARN("shared fixtures missing: the Hugging Face folder cases are skipped");
    const auto apr_file = temp_dir("apr") / "nano-q4_k_m.apr";
    if (!std::filesystem::exists(apr_file)) {
        const apr::test::ShellResult r = apr::test::run_shell(apr::test::apr_cli_path().string() + " import " + gguf() +
                                                              " --output " + apr_file.string() + " 2>&1");
        INFO(r.out);
        REQUIRE(r.status == 0);
    }
    m.push_back(apr_file.string());
    return m;
}

const std::string kRun = " --prompt 'What is 2+2? Answer with just the number.' --max-tokens 8 --threads 2 --device cpu";

int count(const std::string& text, const std::regex& re) {
    return static_cast<int>(std::distance(std::sregex_iterator(text.begin(), text.end(), re), std::sregex_iterator()));
}

// Checks a --trace-level layer table: `layers` rows per phase, and the
// layers plus the ops outside them add up to the measured pass time within 10%.
void check_layer_table(const std::string& err, int layers, int phases) {
    const std::regex row(R"(\n\s*(\d+) \| +([\d.]+) \| +([\d.]+) \| +([\d.]+) \| +([\d.]+)\n)");
    CHECK(count(err, std::regex(R"(Layer \| Attn \(ms\) \| FFN \(ms\) \| Norm \(ms\) \| Total \(ms\))")) == phases);
    // Rows are separated by single newlines, so count them line by line.
    std::istringstream lines(err);
    std::string line;
    int rows = 0;
    const std::regex one(R"(^\s*(\d+) \| +([\d.]+) \| +([\d.]+) \| +([\d.]+) \| +([\d.]+)$)");
    std::smatch m;
    while (std::getline(lines, line))
        if (std::regex_match(line, m, one)) {
            ++rows;
            const double sum = std::stod(m[2]) + std::stod(m[3]) + std::stod(m[4]);
            CHECK(std::abs(sum - std::stod(m[5])) <= 0.002);
        }
    CHECK(rows == layers * phases);
    const std::regex totals(R"(layers \+ those: ([\d.]+) ms; forward pass measured: ([\d.]+) ms)");
    int seen = 0;
    for (auto it = std::sregex_iterator(err.begin(), err.end(), totals); it != std::sregex_iterator(); ++it) {
        CHECK(std::stod((*it)[2]) > 0);
        ++seen;
    }
    CHECK(seen == phases);
}

// Whether the layers plus the ops outside them add up to the measured pass
// time within 10% in every table of `err`; `seen` says what was compared.
// The ops are timed inside the pass, so only a thread preempted between two
// ops (another process on a loaded machine) makes the pass longer.
bool layer_totals_add_up(const std::string& err, std::string& seen) {
    const std::regex totals(R"(layers \+ those: ([\d.]+) ms; forward pass measured: ([\d.]+) ms)");
    bool ok = true;
    for (auto it = std::sregex_iterator(err.begin(), err.end(), totals); it != std::sregex_iterator(); ++it) {
        const double ops = std::stod((*it)[1]), pass = std::stod((*it)[2]);
        seen += "ops " + std::to_string(ops) + " ms vs pass " + std::to_string(pass) + " ms; ";
        ok = ok && std::abs(ops - pass) <= 0.10 * pass;
    }
    return ok;
}

// Runs `args` until its tables add up (at most 3 runs: the machine may be
// busy with other work during one) and returns the last output.
Output run_until_totals_add_up(const std::string& args, const std::string& input = "") {
    Output o;
    std::string seen;
    for (int attempt = 0; attempt < 3; ++attempt) {
        o = run_apr(args, input);
        seen += "run " + std::to_string(attempt + 1) + ": ";
        if (layer_totals_add_up(o.err, seen)) return o;
    }
    INFO("layer times vs pass times: " << seen);
    CHECK(false);
    return o;
}

}  // namespace

TEST_CASE("apr run without trace flags prints no trace") {
    for (const std::string& model : models()) {
        const Output o = run_apr("run " + model + kRun);
        CHECK(o.status == 0);
        CHECK(o.out == "4\n");
        CHECK(o.err.find("[TRACE") == std::string::npos);
        CHECK(o.err.find("[PROFILE") == std::string::npos);
        CHECK(o.err.find("[VERBOSE") == std::string::npos);
    }
}

TEST_CASE("apr run --trace: kernels per layer part, one line per position, a summary") {
    for (const std::string& model : models()) {
        INFO(model);
        const Output o = run_apr("run " + model + kRun + " --trace");
        CHECK(o.status == 0);
        CHECK(o.out == "4\n");  // stdout keeps the clean answer
        // Every layer's QKV projection names its weight type and kernel.
        const std::regex qkv(R"(\[TRACE-CACHE\] Layer (\d): QKV projection using (F16|BF16|F32|Q4_K|Q6_K|Q5_0|Q8_0|Q4_0) \(\S+ \S+ x \S+\))");
        CHECK(count(o.err, qkv) >= 4);  // q/k/v may have different types (Q4_K_M: Q6_K for some v)
        for (int layer = 0; layer < 4; ++layer)
            CHECK(o.err.find("Layer " + std::to_string(layer) + ": QKV projection using") != std::string::npos);
        CHECK(o.err.find("Layer 4:") == std::string::npos);
        CHECK(count(o.err, std::regex(R"(Layer 3: FFN down projection using \w+)")) == 1);
        CHECK(count(o.err, std::regex(R"(LM head: 2048 x 512 using \w+)")) == 1);
        // The prompt pass, then one decode pass per generated token but the last ("4", <|im_end|>).
        const std::regex pos(R"(\[TRACE-CACHE\] pos=(\d+)(\.\.(\d+))?: 4 layers took ([\d.]+)ms \((\d+) tokens?, forward pass ([\d.]+)ms\))");
        std::vector<std::smatch> lines;
        for (auto it = std::sregex_iterator(o.err.begin(), o.err.end(), pos); it != std::sregex_iterator(); ++it)
            lines.push_back(*it);
        REQUIRE(lines.size() == 2);
        CHECK(lines[0][1] == "0");
        const int prompt_tokens = std::stoi(lines[0][5]);
        CHECK(std::stoi(lines[0][3]) == prompt_tokens - 1);
        CHECK(std::stoi(lines[1][1]) == prompt_tokens);
        for (const auto& m : lines) CHECK(std::stod(m[4]) <= std::stod(m[6]));
        std::smatch s;
        REQUIRE(std::regex_search(o.err, s, std::regex(R"(summary: prompt (\d+) tokens in ([\d.]+)ms \(([\d.]+) tok/s\); generation (\d+) tokens)")));
        CHECK(std::stoi(s[1]) == prompt_tokens);
        CHECK(std::stod(s[3]) > 0);
        CHECK(s[4] == "1");
    }
}

TEST_CASE("apr run --trace-level layer: one row per layer, times that add up") {
    for (const std::string& model : models()) {
        INFO(model);
        const Output o = run_until_totals_add_up("run " + model + kRun + " --trace-level layer");
        CHECK(o.status == 0);
        CHECK(o.out == "4\n");
        check_layer_table(o.err, 4, 2);
    }
    CHECK(run_apr("run " + gguf() + kRun + " --trace-level op").status == 2);
}

TEST_CASE("apr run --profile: a roofline against measured, cached peaks") {
    const auto cache = temp_dir("cache");
    const std::string env = "XDG_CACHE_HOME=" + cache.string();
    for (const std::string& model : models()) {
        INFO(model);
        const Output o = run_apr("run " + model + kRun + " --profile", "", env);
        CHECK(o.status == 0);
        CHECK(o.out == "4\n");
        std::smatch m;
        REQUIRE(std::regex_search(o.err, m, std::regex(R"(\[PROFILE\] machine: .*, 2 threads: ([\d.]+) GB/s read bandwidth, ([\d.]+) GFLOP/s)")));
        CHECK(std::stod(m[1]) > 0.1);
        CHECK(std::stod(m[2]) > 0.1);
        // Per op class: the FFN projections move the most bytes per generated token.
        REQUIRE(std::regex_search(o.err, m, std::regex(R"(\[PROFILE\] generation: 1 tokens, ([\d.]+) ms of ops per token, ([\d.]+) MB)")));
        CHECK(std::stod(m[2]) > 1.0);  // the weights of 4 layers + LM head: several MB per token
        const std::string generation = o.err.substr(o.err.find("[PROFILE] generation:"));
        REQUIRE(std::regex_search(generation, m, std::regex(R"(FFN projections \(gate, up, down\) +\| +([\d.]+) \| +([\d.]+)% \| +([\d.]+) \| +([\d.]+) \| +([\d.]+) \| +([\d.]+) \| +[\d.]+% \| +([\d.]+) \| +[\d.]+% \| (memory|compute))")));
        CHECK(std::stod(m[3]) > 0.5);   // MB per token
        CHECK(std::stod(m[6]) > 0);     // GB/s achieved
        CHECK(count(o.err, std::regex(R"(% of the time in memory-bound ops, \d+% in compute-bound ops)")) == 2);
        CHECK(count(o.err, std::regex(R"(\[PROFILE\] bottleneck: )")) == 2);
        CHECK(count(o.err, std::regex(R"(\[PROFILE\] recommendation: )")) == 2);
    }
    CHECK(std::filesystem::exists(cache / "apr" / "machine_peaks.json"));
    const Output again = run_apr("run " + gguf() + kRun + " --profile", "", env);
    CHECK(again.err.find("(measured, cached)") != std::string::npos);
    std::filesystem::remove_all(cache);
}

TEST_CASE("apr run --trace-payload: statistics per layer, top-5 logits, no errors on a good model") {
    for (const std::string& model : models()) {
        INFO(model);
        const Output o = run_apr("run " + model + kRun + " --trace-payload");
        CHECK(o.status == 0);
        CHECK(o.out == "4\n");
        // Two passes, each: embedding, 4 layers, final norm.
        CHECK(count(o.err, std::regex(R"(\[TRACE-PAYLOAD\]   layer [0-3] +min=)")) == 8);
        CHECK(count(o.err, std::regex(R"(\[TRACE-PAYLOAD\]   embedding +min=)")) == 2);
        CHECK(count(o.err, std::regex(R"(\[TRACE-PAYLOAD\]   final norm +min=)")) == 2);
        CHECK(count(o.err, std::regex(R"(sampled \d+ top-5:( \d+:-?[\d.]+){5})")) == 2);
        CHECK(o.err.find("[TRACE-PAYLOAD] 0 errors") != std::string::npos);
        CHECK(o.err.find("ERROR") == std::string::npos);
    }
}

TEST_CASE("apr run --trace-output: Chrome trace JSON with a summary, combined with --trace") {
    const auto dir = temp_dir("chrome");
    for (const std::string& model : models()) {
        INFO(model);
        const auto file = dir / "trace.json";
        const Output o = run_apr("run " + model + kRun + " --trace --trace-output " + file.string());
        CHECK(o.status == 0);
        CHECK(o.out == "4\n");
        CHECK(o.err.find("[TRACE-CACHE] pos=0..") != std::string::npos);
        simdjson::dom::parser parser;
        simdjson::dom::element doc = parser.load(file.string());
        simdjson::dom::array events = doc["traceEvents"];
        size_t ops = 0, passes = 0;
        for (simdjson::dom::element e : events) {
            std::string_view ph = e["ph"];
            if (ph == "M") continue;
            CHECK(ph == "X");
            CHECK(double(e["ts"]) >= 0);
            CHECK(double(e["dur"]) >= 0);
            CHECK(std::string_view(e["name"]).size() > 0);
            simdjson::dom::object args = e["args"];
            (void)args;
            if (int64_t(e["tid"]) == 2) ++ops;
            if (int64_t(e["tid"]) == 1) ++passes;
        }
        CHECK(passes == 2);
        CHECK(ops > 2 * 4 * 14);  // every op of 4 layers in both passes
        simdjson::dom::element summary = doc["summary"];
        CHECK(int64_t(summary["layers"]) == 4);
        CHECK(std::string_view(summary["model"]) == model);
        CHECK(std::string_view(summary["backend"]).find("cpu") == 0);
        CHECK(double(summary["prompt_tok_per_s"]) > 0);
        CHECK(simdjson::dom::array(summary["per_layer"]).size() == 4);
    }
    std::filesystem::remove_all(dir);
}

TEST_CASE("apr run --verbose: the load report") {
    for (const std::string& model : models()) {
        INFO(model);
        const Output o = run_apr("run " + model + kRun + " --verbose");
        CHECK(o.status == 0);
        CHECK(o.out == "4\n");
        CHECK(std::regex_search(o.err, std::regex(R"(\[VERBOSE\] source: .*\((gguf|hf_dir|safetensors|apr)[^,]*, [\d.]+ MB\))")));
        CHECK(o.err.find("qwen2, 4 layers, hidden 512, 4 heads (2 KV) of 128, FFN 1024, vocab 2048") != std::string::npos);
        CHECK(o.err.find("context length 2048") != std::string::npos);
        CHECK(std::regex_search(o.err, std::regex(R"(\[VERBOSE\] weight types: .*(F16|BF16|Q4_K) x\d+)")));
        CHECK(std::regex_search(o.err, std::regex(R"(\[VERBOSE\] backend: cpu, \w+ kernels, 2 threads)")));
        CHECK(std::regex_search(o.err, std::regex(R"(\[VERBOSE\] load time: [\d.]+ ms)")));
        CHECK(std::regex_search(o.err, std::regex(R"(\[VERBOSE\] total time: [\d.]+ ms)")));
    }
}

TEST_CASE("apr chat with trace modes reports each turn") {
    const std::string input = "What is 2+2?\nWhat is 7*8?\n";
    for (const std::string& model : models()) {
        INFO(model);
        const Output none = run_apr("chat " + model + " --threads 2 --device cpu", input);
        CHECK(none.out == "4\n56\n");
        CHECK(none.err.find("[TRACE") == std::string::npos);

        const Output t = run_apr("chat " + model + " --threads 2 --device cpu --trace", input);
        CHECK(t.out == "4\n56\n");
        CHECK(t.err.find("[TRACE-CACHE] turn 1") != std::string::npos);
        CHECK(t.err.find("[TRACE-CACHE] turn 2") != std::string::npos);
        CHECK(count(t.err, std::regex(R"(Layer 0: QKV projection using \w+)")) == 2);
        // The second turn's prompt pass starts where the cache ends.
        std::smatch m;
        REQUIRE(std::regex_search(t.err, m, std::regex(R"((\d+) new prompt tokens evaluated \((\d+) reused from the cache\)[^\n]*\n(?:[^\n]*\n)*?\[TRACE-CACHE\] turn 2)")));
        std::smatch second;
        REQUIRE(std::regex_search(t.err, second, std::regex(R"(turn 2\n(?:[^\n]*\n)*?\[TRACE-CACHE\] pos=(\d+)\.\.(\d+): 4 layers)")));
        CHECK(std::stoi(second[1]) > 0);  // not from 0: the first turn is reused

        const Output l = run_until_totals_add_up("chat " + model + " --threads 2 --device cpu --trace-level layer", input);
        CHECK(l.out == "4\n56\n");
        CHECK(l.err.find("[TRACE-LAYER] turn 2") != std::string::npos);
        check_layer_table(l.err, 4, 4);  // two turns x (prompt, generation)

        const auto cache = temp_dir("chatcache");
        const Output p = run_apr("chat " + model + " --threads 2 --device cpu --profile", input, "XDG_CACHE_HOME=" + cache.string());
        CHECK(p.out == "4\n56\n");
        CHECK(p.err.find("[PROFILE] turn 2") != std::string::npos);
        CHECK(count(p.err, std::regex(R"(\[PROFILE\] bottleneck: )")) == 4);
        std::filesystem::remove_all(cache);
    }
}
