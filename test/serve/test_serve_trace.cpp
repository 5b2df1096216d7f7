// The trace modes of `apr serve`, asserted on content, from the GGUF file,
// the Hugging Face folder and an APR file: the X-Trace-* headers on every
// completion (numbers consistent with the body's usage and the model's
// layer count), X-Trace-Level: layer (a `trace` field whose layer times add
// up to the measured pass within 10%, up to 3 tries), X-Profile: true (a `profile` field
// with the roofline), the same in the last event of a stream, and the
// server's --trace / --trace-level layer log lines and --profile field.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "serve/serve_process.hpp"
#include "support/fixtures.hpp"
#include "support/prerequisites.hpp"
#include "support/shell.hpp"

using apr::test::JsonDoc;
using apr::test::ServeProcess;

namespace {

std::filesystem::path temp_dir() {
    const auto dir = std::filesystem::temp_directory_path() / ("apr_test_serve_trace_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    return dir;
}

// The peaks of --profile are measured once and cached here for every server of the test.
std::string cache_env() { return "XDG_CACHE_HOME=" + (temp_dir() / "cache").string(); }

// The GGUF, the HF folder (when the fixtures are there) and an APR import of the GGUF.
std::vector<std::string> models() {
    const std::string gguf = (apr::test::vendored_models_dir() / "nano" / "nano-q4_k_m.gguf").string();
    std::vector<std::string> m{gguf};
    if (apr::test::have_fixtures()) m.push_back((apr::test::fixtures_dir() / "nano").string());
    else WARN("shared fixtures missing: the Hugging Face folder cases are skipped");
    const auto apr_file = temp_dir() / "nano-q4_k_m.apr";
    if (!std::filesystem::exists(apr_file)) {
        const auto r = apr::test::run_shell(apr::test::apr_cli_path().string() + " import " + gguf + " --output " +
                                            apr_file.string() + " 2>&1");
        INFO(r.out);
        REQUIRE(r.status == 0);
    }
    m.push_back(apr_file.string());
    return m;
}

const std::string kChat =
    R"({"messages": [{"role": "user", "content": "What is 2+2? Answer with just the number."}], "max_tokens": 8, "temperature": 0})";

double header_number(const httplib::Result& r, const char* name) {
    INFO("header " << name);
    REQUIRE(r->has_header(name));
    return std::stod(r->get_header_value(name));
}

// The X-Trace-* headers agree with the body and the model (4 layers).
void check_headers(const httplib::Result& r, int64_t completion_tokens) {
    const double time_ms = header_number(r, "X-Trace-Time-Ms"), tokens = header_number(r, "X-Trace-Tokens");
    const double tok_s = header_number(r, "X-Trace-Tok-Per-Sec"), layers = header_number(r, "X-Trace-Layers");
    const double layer_ms = header_number(r, "X-Trace-Avg-Layer-Ms");
    INFO("time " << time_ms << " ms, tokens " << tokens << ", " << tok_s << " tok/s, layers " << layers << ", layer "
                 << layer_ms << " ms");
    CHECK(layers == 4);
    CHECK(tokens == static_cast<double>(completion_tokens));
    CHECK(time_ms > 0);
    CHECK(tok_s > 0);
    // tok/s counts the time in a slot, which is part of the request's time.
    CHECK(tok_s >= tokens * 1000.0 / time_ms * 0.999);
    CHECK(layer_ms > 0);
    CHECK(layer_ms * layers <= time_ms);
}

// A phase of the `trace` field: one row per layer whose parts add up, and
// layers plus the ops outside them within 10% of the measured pass time.
void check_trace_phase(simdjson::dom::element phase) {
    const auto rows = phase["layers"].get_array();
    REQUIRE(rows.size() == 4);
    double sum = 0;
    int64_t expected = 0;
    for (simdjson::dom::element row : rows) {
        CHECK(int64_t(row["layer"]) == expected++);
        const double parts = double(row["attn_ms"]) + double(row["ffn_ms"]) + double(row["norm_ms"]);
        CHECK(std::abs(parts - double(row["total_ms"])) <= 0.003);
        CHECK(double(row["total_ms"]) > 0);
        sum += double(row["total_ms"]);
    }
    CHECK(std::abs(sum - double(phase["layers_ms"])) <= 0.01);
    CHECK(double(phase["forward_ms"]) > 0);
}

// Whether a trace's layers plus the ops outside them are within 10% of the
// measured passes in both phases (`seen` gets the figures). The ops are
// timed inside the pass: only a thread preempted between two ops (other
// work on a loaded machine) makes the pass longer, so callers retry.
bool trace_adds_up(simdjson::dom::element trace, std::string& seen) {
    bool ok = true;
    for (const char* name : {"prompt", "generation"}) {
        const double ops = double(trace[name]["layers_ms"]) + double(trace[name]["outside_layers_ms"]);
        const double forward = double(trace[name]["forward_ms"]);
        seen += std::string(name) + ": ops " + std::to_string(ops) + " ms vs pass " + std::to_string(forward) + " ms; ";
        ok = ok && std::abs(ops - forward) <= 0.10 * forward;
    }
    return ok;
}

void check_trace_field(simdjson::dom::element trace, int64_t prompt_tokens) {
    CHECK(int64_t(trace["layers"]) == 4);
    CHECK(int64_t(trace["prompt"]["tokens"]) == prompt_tokens);
    check_trace_phase(trace["prompt"]);
    // "4" then the end token: one generation step.
    CHECK(int64_t(trace["generation"]["passes"]) >= 1);
    check_trace_phase(trace["generation"]);
    const std::string text{std::string_view(trace["text"])};
    CHECK(text.find("Layer | Attn (ms) | FFN (ms) | Norm (ms) | Total (ms)") != std::string::npos);
}

void check_profile_field(simdjson::dom::element profile) {
    CHECK(double(profile["machine"]["bandwidth_gbs"]) > 0);
    CHECK(double(profile["machine"]["gflops"]) > 0);
    CHECK(int64_t(profile["machine"]["threads"]) == 2);
    CHECK(double(profile["ridge_flop_per_byte"]) > 0);
    const auto phases = profile["phases"].get_array();
    REQUIRE(phases.size() == 2);
    CHECK(std::string_view(phases.at(0)["phase"]) == "prompt");
    CHECK(std::string_view(phases.at(1)["phase"]) == "generation");
    for (simdjson::dom::element ph : phases) {
        double share = 0;
        bool ffn = false;
        for (simdjson::dom::element c : ph["classes"].get_array()) {
            share += double(c["share"]);
            const std::string_view name(c["class"]);
            if (name.starts_with("FFN projections")) {
                ffn = true;
                CHECK(double(c["mb_per_token"]) > 0);
                CHECK(double(c["mflop_per_token"]) > 0);
                CHECK(double(c["gbs"]) > 0);
            }
        }
        CHECK(ffn);
        CHECK(std::abs(share - 1.0) < 0.01);
        CHECK(std::abs(double(ph["memory_bound_share"]) + double(ph["compute_bound_share"]) - 1.0) < 0.01);
        CHECK(!std::string_view(ph["bottleneck"]).empty());
        CHECK(!std::string_view(ph["recommendation"]).empty());
    }
    CHECK(std::string_view(profile["text"]).find("[PROFILE] bottleneck:") != std::string_view::npos);
}

// Waits (up to 10 s) for the server's log to match; returns the log.
std::string wait_for_log(const ServeProcess& s, const std::regex& re) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    std::string log = s.log();
    while (!std::regex_search(log, re) && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        log = s.log();
    }
    return log;
}

}  // namespace

TEST_CASE("serve without trace modes: /health, X-Trace-* headers, no trace in the body or the log") {
    for (const std::string& model : models()) {
        INFO(model);
        ServeProcess s({model, "--alias", "nano"}, {cache_env()});
        auto c = s.client();
        auto h = c.Get("/health");
        REQUIRE(h);
        CHECK(h->status == 200);
        auto r = c.Post("/v1/chat/completions", kChat, "application/json");
        REQUIRE(r);
        INFO(r->body);
        REQUIRE(r->status == 200);
        JsonDoc d(r->body);
        check_headers(r, int64_t(d.root["usage"]["completion_tokens"]));
        CHECK(d.root["trace"].error() == simdjson::NO_SUCH_FIELD);
        CHECK(d.root["profile"].error() == simdjson::NO_SUCH_FIELD);
        // The request's access line is there, with no trace line after it.
        const std::string log = wait_for_log(s, std::regex("POST /v1/chat/completions 200"));
        INFO(log);
        CHECK(log.find("POST /v1/chat/completions 200") != std::string::npos);
        CHECK(log.find("[TRACE") == std::string::npos);
    }
}

TEST_CASE("serve: X-Trace-Level: layer and X-Profile: true return the layer trace and the roofline") {
    for (const std::string& model : models()) {
        INFO(model);
        ServeProcess s({model, "--alias", "nano"}, {cache_env()});
        auto c = s.client();
        auto r = c.Post("/v1/chat/completions", {{"X-Trace-Level", "layer"}}, kChat, "application/json");
        REQUIRE(r);
        INFO(r->body);
        REQUIRE(r->status == 200);
        JsonDoc d(r->body);
        check_headers(r, int64_t(d.root["usage"]["completion_tokens"]));
        check_trace_field(d.root["trace"], int64_t(d.root["usage"]["prompt_tokens"]));
        CHECK(d.root["profile"].error() == simdjson::NO_SUCH_FIELD);
        // The times add up (up to 3 requests: the machine may be busy during one).
        std::string seen;
        bool adds_up = trace_adds_up(d.root["trace"], seen);
        for (int attempt = 1; attempt < 3 && !adds_up; ++attempt) {
            auto again = c.Post("/v1/chat/completions", {{"X-Trace-Level", "layer"}}, kChat, "application/json");
            REQUIRE(again);
            REQUIRE(again->status == 200);
            JsonDoc a(again->body);
            adds_up = trace_adds_up(a.root["trace"], seen);
        }
        INFO("layer times vs pass times: " << seen);
        CHECK(adds_up);

        auto p = c.Post("/v1/chat/completions", {{"X-Profile", "true"}}, kChat, "application/json");
        REQUIRE(p);
        INFO(p->body);
        REQUIRE(p->status == 200);
        JsonDoc pd(p->body);
        check_headers(p, int64_t(pd.root["usage"]["completion_tokens"]));
        check_profile_field(pd.root["profile"]);
        CHECK(pd.root["trace"].error() == simdjson::NO_SUCH_FIELD);

        // The Ollama API answers the same fields in its final object.
        auto o = c.Post("/api/chat", {{"X-Trace-Level", "layer"}, {"X-Profile", "1"}},
                        R"({"messages": [{"role": "user", "content": "What is 2+2? Answer with just the number."}],
                            "stream": false, "options": {"temperature": 0, "num_predict": 8}})",
                        "application/json");
        REQUIRE(o);
        INFO(o->body);
        REQUIRE(o->status == 200);
        JsonDoc od(o->body);
        check_headers(o, int64_t(od.root["eval_count"]));
        check_trace_field(od.root["trace"], int64_t(od.root["prompt_eval_count"]));
        check_profile_field(od.root["profile"]);
    }
}

TEST_CASE("serve: a streamed answer carries the trace in its last event before [DONE]") {
    const std::string model = models().front();
    ServeProcess s({model, "--alias", "nano"}, {cache_env()});
    auto c = s.client();
    std::string body = kChat;
    body.back() = ',';
    body += R"( "stream": true})";
    auto r = c.Post("/v1/chat/completions", {{"X-Trace-Level", "layer"}, {"X-Profile", "true"}}, body, "application/json");
    REQUIRE(r);
    INFO(r->body);
    REQUIRE(r->status == 200);
    const std::vector<std::string> events = apr::test::sse_data(r->body);
    REQUIRE(events.size() >= 3);
    CHECK(events.back() == "[DONE]");
    JsonDoc last(events[events.size() - 2]);
    CHECK(std::string_view(last.root["object"]) == "trace");
    CHECK(int64_t(last.root["trace_headers"]["X-Trace-Layers"]) == 4);
    CHECK(double(last.root["trace_headers"]["X-Trace-Time-Ms"]) > 0);
    CHECK(int64_t(last.root["trace_headers"]["X-Trace-Tokens"]) >= 1);
    check_trace_field(last.root["trace"], int64_t(last.root["trace"]["prompt"]["tokens"]));
    check_profile_field(last.root["profile"]);
    // Without the headers, a stream ends as before: no trace event.
    std::string plain = kChat;
    plain.back() = ',';
    plain += R"( "stream": true})";
    auto q = c.Post("/v1/chat/completions", plain, "application/json");
    REQUIRE(q);
    for (const std::string& e : apr::test::sse_data(q->body)) CHECK(e.find("\"object\":\"trace\"") == std::string::npos);
}

TEST_CASE("serve: a bad trace header is a 400 naming it") {
    const std::string model = models().front();
    ServeProcess s({model, "--alias", "nano"}, {cache_env()});
    auto c = s.client();
    auto r = c.Post("/v1/chat/completions", {{"X-Trace-Level", "op"}}, kChat, "application/json");
    REQUIRE(r);
    CHECK(r->status == 400);
    CHECK(r->body.find("X-Trace-Level") != std::string::npos);
    auto p = c.Post("/api/generate", {{"X-Profile", "maybe"}}, R"({"prompt": "hi", "stream": false})", "application/json");
    REQUIRE(p);
    CHECK(p->status == 400);
    CHECK(p->body.find("X-Profile") != std::string::npos);
}

TEST_CASE("serve --trace --trace-level layer --profile: timing and layer table in the log, profile in every body") {
    for (const std::string& model : models()) {
        INFO(model);
        ServeProcess s({model, "--alias", "nano", "--trace", "--trace-level", "layer", "--profile"}, {cache_env()});
        auto c = s.client();
        auto r = c.Post("/v1/chat/completions", kChat, "application/json");
        REQUIRE(r);
        INFO(r->body);
        REQUIRE(r->status == 200);
        JsonDoc d(r->body);
        const int64_t prompt = int64_t(d.root["usage"]["prompt_tokens"]);
        const int64_t completion = int64_t(d.root["usage"]["completion_tokens"]);
        check_headers(r, completion);
        check_profile_field(d.root["profile"]);                      // --profile: without asking
        CHECK(d.root["trace"].error() == simdjson::NO_SUCH_FIELD);  // the layer table goes to the log
        const std::regex line(R"(\[TRACE\] queue ([\d.]+)ms, prompt (\d+) tokens \((\d+) cached\) in ([\d.]+)ms, generation (\d+) tokens in ([\d.]+)ms, ([\d.]+) tok/s, 4 layers at ([\d.]+)ms each\n)");
        const std::string log = wait_for_log(s, std::regex(R"(forward pass measured: [\d.]+ ms\n(.|\n)*forward pass measured: [\d.]+ ms\n)"));
        INFO(log);
        std::smatch m;
        REQUIRE(std::regex_search(log, m, line));
        CHECK(std::stoll(m[2]) == prompt);
        CHECK(std::stoll(m[5]) == completion);
        CHECK(std::stod(m[4]) > 0);
        CHECK(std::stod(m[7]) > 0);
        CHECK(std::abs(std::stod(m[8]) - header_number(r, "X-Trace-Avg-Layer-Ms")) <= 0.001 + 0.001 * std::stod(m[8]));
        // The layer table after it: a prompt and a generation table of 4 rows.
        const std::string after = m.suffix();
        CHECK(after.find("[TRACE-LAYER] prompt: " + std::to_string(prompt) + " tokens") != std::string::npos);
        CHECK(after.find("[TRACE-LAYER] generation: mean per token") != std::string::npos);
        const std::regex row(R"(\n\s*[0-3] \| +[\d.]+ \| +[\d.]+ \| +[\d.]+ \| +[\d.]+)");
        CHECK(std::distance(std::sregex_iterator(after.begin(), after.end(), row), std::sregex_iterator()) == 8);
    }
}
