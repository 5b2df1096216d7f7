#include "qa_tracing.hpp"

#include <fmt/format.h>
#include <httplib.h>
#include <simdjson.h>

#include <chrono>
#include <functional>
#include <regex>

#include "apr/model_file.hpp"
#include "json_text.hpp"
#include "qa_cases.hpp"
#include "qa_process.hpp"
#include "qa_trace_checks.hpp"

namespace apr::qa {
namespace {

using cli::json_string;

// What every cell needs to know about the model it traces.
struct Target {
    std::string source, format;
    int layers = 0;
    CaseSet cases;
    const QaOptions* o = nullptr;
    std::filesystem::path work;
    std::vector<std::string> env;  // XDG_CACHE_HOME: the profile's peaks are measured once, in the work folder
    // Always explicit: the programs' default (auto) would take a GPU where there is one.
    std::string device = "cpu";
};

std::vector<std::string> run_args(const Target& t, const std::vector<std::string>& mode) {
    std::vector<std::string> a{t.o->apr_cli.string(), "run", t.source, "--prompt", t.cases.run_case.messages.back().content,
                               "--max-tokens", std::to_string(t.o->max_tokens), "--threads", std::to_string(t.o->threads),
                               "--device", t.device};
    a.insert(a.end(), mode.begin(), mode.end());
    return a;
}

ProcessResult apr_run(const Target& t, const std::vector<std::string>& mode) {
    return run_process(run_args(t, mode), "", t.env, t.work);
}

std::string chat_input(const Target& t) {
    std::string in;
    for (const ChatCase& c : t.cases.chat_turns) in += c.messages.back().content + "\n";
    return in;
}

std::string chat_answers(const Target& t) {
    std::string out;
    for (const ChatCase& c : t.cases.chat_turns) out += (out.empty() ? "" : "\n") + c.answer;
    return out;
}

ProcessResult apr_chat(const Target& t, const std::vector<std::string>& mode) {
    std::vector<std::string> a{t.o->apr_cli.string(), "chat", t.source, "--max-tokens", std::to_string(t.o->max_tokens),
                               "--threads", std::to_string(t.o->threads), "--device", t.device};
    a.insert(a.end(), mode.begin(), mode.end());
    return run_process(a, chat_input(t), t.env, t.work);
}

void answer_check(Cell& c, const ProcessResult& r, const std::string& expected) {
    const bool ok = r.exit_code == 0 && normalized(r.out) == expected;
    c.check(ok, 1, "exit 0 with the clean answer on stdout",
            fmt::format("stdout \"{}\" (expected \"{}\"), {}", normalized(r.out), expected, r.describe()));
}

// Runs `make` until `good` holds (at most 3 times: a loaded machine can
// preempt a thread between two timed ops and lengthen one pass).
ProcessResult until(const std::function<ProcessResult()>& make, const std::function<bool(const ProcessResult&)>& good) {
    ProcessResult r;
    for (int attempt = 0; attempt < 3; ++attempt) {
        r = make();
        if (good(r)) break;
    }
    return r;
}

// ---- apr run ---------------------------------------------------------------

void run_none(Cell& c, const Target& t) {
    const ProcessResult r = apr_run(t, {});
    answer_check(c, r, t.cases.run_case.answer);
    const bool quiet = r.err.find("[TRACE") == std::string::npos && r.err.find("[PROFILE") == std::string::npos &&
                       r.err.find("[VERBOSE") == std::string::npos;
    c.check(quiet, 1, "no trace output without a mode", "stderr: " + r.err.substr(0, 300));
    std::smatch m;
    const bool summary = std::regex_search(r.err, m, std::regex(R"(\[(\d+) prompt tokens at ([\d.]+) tok/s, (\d+) generated at ([\d.]+) tok/s)")) &&
                         std::stoi(m[1]) > 0 && std::stod(m[2]) > 0 && std::stoi(m[3]) > 0;
    c.check(summary, 1, "the summary line with prompt and generation tok/s", "stderr: " + r.err.substr(0, 300));
}

void run_trace(Cell& c, const Target& t, const std::vector<std::string>& extra, const std::string& kernel_has) {
    std::vector<std::string> mode{"--trace"};
    mode.insert(mode.end(), extra.begin(), extra.end());
    const ProcessResult r = apr_run(t, mode);
    answer_check(c, r, t.cases.run_case.answer);
    const Verdict k = check_trace_kernels(r.err, t.layers, kernel_has);
    c.check(k.ok, 1, fmt::format("the kernel of every layer's parts ({} layers)", t.layers), k.detail);
    const Verdict p = check_trace_positions(r.err, t.layers, 2, true);
    c.check(p.ok, 1, "one line per pass, layer times within the pass, the summary", p.detail);
}

void run_layer(Cell& c, const Target& t) {
    const ProcessResult r = until([&] { return apr_run(t, {"--trace-level", "layer"}); },
                                  [](const ProcessResult& x) { return check_layer_totals(x.err).ok; });
    answer_check(c, r, t.cases.run_case.answer);
    const Verdict v = check_layer_tables(r.err, t.layers, 2);
    c.check(v.ok, 1, fmt::format("{} rows per phase whose parts add up", t.layers), v.detail);
    const Verdict s = check_layer_totals(r.err);
    c.check(s.ok, 1, "layers + outside ops within 10% of the measured pass", s.detail);
}

void run_profile(Cell& c, const Target& t) {
    const ProcessResult r = apr_run(t, {"--profile"});
    answer_check(c, r, t.cases.run_case.answer);
    const Verdict v = check_profile_text(r.err, 2);
    c.check(v.ok, 1, "machine peaks, bytes and FLOPs per op class", v.detail);
    const bool both = r.err.find("[PROFILE] prompt:") != std::string::npos && r.err.find("[PROFILE] generation:") != std::string::npos;
    c.check(v.ok && both, 1, "a roofline, bottleneck and recommendation for prompt and generation", "stderr: " + r.err.substr(0, 300));
}

void run_output(Cell& c, const Target& t) {
    const auto file = t.work / "trace.json";
    std::error_code ec;
    std::filesystem::remove(file, ec);
    const ProcessResult r = apr_run(t, {"--trace-output", file.string()});
    answer_check(c, r, t.cases.run_case.answer);
    const Verdict v = check_chrome_trace(file.string(), t.layers, t.source, "cpu");
    c.check(v.ok, 1, "Chrome trace JSON: traceEvents with ph/ts/dur/name/args, every op", v.detail);
    c.check(v.ok && r.err.find("[TRACE] wrote " + file.string()) != std::string::npos, 1,
            "a summary with the model's layers, per-layer rows and tok/s", v.ok ? "no '[TRACE] wrote' line" : v.detail);
}

// ---- apr chat ----------------------------------------------------------------

int turns(const Target& t) { return static_cast<int>(t.cases.chat_turns.size()); }

void chat_none(Cell& c, const Target& t) {
    const ProcessResult r = apr_chat(t, {});
    answer_check(c, r, chat_answers(t));
    c.check(r.err.find("[TRACE") == std::string::npos && r.err.find("[PROFILE") == std::string::npos, 1,
            "no trace output without a mode", "stderr: " + r.err.substr(0, 300));
    const std::regex status(R"(\[(\d+) new prompt tokens evaluated \((\d+) reused from the cache\))");
    std::vector<int> reused;
    for (auto it = std::sregex_iterator(r.err.begin(), r.err.end(), status); it != std::sregex_iterator(); ++it)
        reused.push_back(std::stoi((*it)[2]));
    const bool ok = static_cast<int>(reused.size()) == turns(t) && reused[0] == 0 && (turns(t) < 2 || reused[1] > 0);
    c.check(ok, 1, "a status line per turn; the next turn reuses the cache",
            fmt::format("{} status lines for {} turns", reused.size(), turns(t)));
}

void chat_trace(Cell& c, const Target& t) {
    const ProcessResult r = apr_chat(t, {"--trace"});
    answer_check(c, r, chat_answers(t));
    bool marks = true;
    for (int k = 1; k <= turns(t); ++k) marks = marks && r.err.find(fmt::format("[TRACE-CACHE] turn {}", k)) != std::string::npos;
    const std::regex layer0(R"(Layer 0: QKV projection using \w+)");
    const int qkv0 = static_cast<int>(std::distance(std::sregex_iterator(r.err.begin(), r.err.end(), layer0), std::sregex_iterator()));
    const Verdict k = check_trace_kernels(r.err, t.layers);
    c.check(marks && k.ok && qkv0 >= turns(t), 1, "each turn's report with every layer's kernels",
            marks ? (k.ok ? fmt::format("{} layer-0 QKV lines for {} turns", qkv0, turns(t)) : k.detail) : "a turn marker is missing");
    // The last turn's prompt pass starts where the cache ends, not at 0.
    const size_t last = r.err.rfind(fmt::format("[TRACE-CACHE] turn {}", turns(t)));
    const std::string tail = last == std::string::npos ? "" : r.err.substr(last);
    const Verdict p = check_trace_positions(tail, t.layers, 1, turns(t) == 1);
    std::smatch m;
    const bool continues = turns(t) == 1 || (std::regex_search(tail, m, std::regex(R"(pos=(\d+))")) && std::stoi(m[1]) > 0);
    c.check(p.ok && continues, 1, "pass lines per turn, the next turn continuing the cache",
            p.ok ? "the last turn starts at position 0" : p.detail);
}

void chat_layer(Cell& c, const Target& t) {
    const ProcessResult r = until([&] { return apr_chat(t, {"--trace-level", "layer"}); },
                                  [](const ProcessResult& x) { return check_layer_totals(x.err).ok; });
    answer_check(c, r, chat_answers(t));
    const Verdict v = check_layer_tables(r.err, t.layers, 2 * turns(t));
    c.check(v.ok, 1, fmt::format("{} rows per phase and turn whose parts add up", t.layers), v.detail);
    const Verdict s = check_layer_totals(r.err);
    c.check(s.ok, 1, "layers + outside ops within 10% of the measured pass", s.detail);
}

void chat_profile(Cell& c, const Target& t) {
    const ProcessResult r = apr_chat(t, {"--profile"});
    answer_check(c, r, chat_answers(t));
    bool marks = true;
    for (int k = 1; k <= turns(t); ++k) marks = marks && r.err.find(fmt::format("[PROFILE] turn {}", k)) != std::string::npos;
    c.check(marks, 1, "a roofline per turn", "a '[PROFILE] turn N' marker is missing");
    const Verdict v = check_profile_text(r.err, 2 * turns(t));
    c.check(v.ok, 1, "machine peaks, op classes, bottleneck and recommendation per phase", v.detail);
}

// ---- apr serve ---------------------------------------------------------------

struct Reply {
    bool ok = false;
    std::string error, content, trace, profile;
    long prompt_tokens = 0, completion_tokens = 0;
    long cached_tokens = 0;  // of the prompt, taken from the slot's cache (not evaluated)
    TraceHeaders headers;
};

Reply ask(const ServeChild& s, const Target& t, const httplib::Headers& headers) {
    httplib::Client client("127.0.0.1", s.port());
    client.set_read_timeout(120, 0);
    std::string messages;
    for (const ChatMessage& m : t.cases.run_case.messages)
        messages += fmt::format("{}{{\"role\": {}, \"content\": {}}}", messages.empty() ? "" : ", ", json_string(m.role),
                                json_string(m.content));
    const std::string body = fmt::format(R"({{"messages": [{}], "max_tokens": {}, "temperature": 0}})", messages, t.o->max_tokens);
    Reply out;
    auto r = client.Post("/v1/chat/completions", headers, body, "application/json");
    if (!r) {
        out.error = "no response: " + httplib::to_string(r.error());
        return out;
    }
    if (r->status != 200) {
        out.error = fmt::format("status {}: {}", r->status, r->body.substr(0, 300));
        return out;
    }
    try {
        simdjson::dom::parser parser;
        simdjson::dom::element d = parser.parse(simdjson::padded_string(r->body));
        out.content = std::string(std::string_view(d["choices"].at(0)["message"]["content"]));
        out.prompt_tokens = static_cast<long>(int64_t(d["usage"]["prompt_tokens"]));
        out.completion_tokens = static_cast<long>(int64_t(d["usage"]["completion_tokens"]));
        int64_t cached = 0;
        if (d["usage"]["prompt_tokens_details"]["cached_tokens"].get(cached) == simdjson::SUCCESS)
            out.cached_tokens = static_cast<long>(cached);
        simdjson::dom::element field;
        if (d["trace"].get(field) == simdjson::SUCCESS) out.trace = simdjson::minify(field);
        if (d["profile"].get(field) == simdjson::SUCCESS) out.profile = simdjson::minify(field);
    } catch (const simdjson::simdjson_error& e) {
        out.error = std::string("the body is not the expected JSON: ") + e.what();
        return out;
    }
    const char* names[] = {"X-Trace-Time-Ms", "X-Trace-Tokens", "X-Trace-Tok-Per-Sec", "X-Trace-Layers", "X-Trace-Avg-Layer-Ms"};
    double* fields[] = {&out.headers.time_ms, &out.headers.tokens, &out.headers.tok_s, &out.headers.layers, &out.headers.layer_ms};
    out.headers.present = true;
    for (int i = 0; i < 5; ++i) {
        if (!r->has_header(names[i])) {
            out.headers.present = false;
            continue;
        }
        try {
            *fields[i] = std::stod(r->get_header_value(names[i]));
        } catch (const std::exception&) {
            out.headers.present = false;
        }
    }
    out.ok = true;
    return out;
}

void reply_check(Cell& c, const Reply& r, const Target& t) {
    c.check(r.ok && normalized(r.content) == t.cases.run_case.answer, 1, "200 with the right answer",
            r.ok ? fmt::format("content \"{}\" (expected \"{}\")", r.content, t.cases.run_case.answer) : r.error);
}

std::unique_ptr<ServeChild> start_server(Cell& c, const Target& t, const std::vector<std::string>& mode, const std::string& name) {
    std::vector<std::string> args{t.source, "--threads", std::to_string(t.o->threads), "--parallel", "1", "--device", t.device};
    args.insert(args.end(), mode.begin(), mode.end());
    try {
        return std::make_unique<ServeChild>(t.o->apr_cli, args, t.env, t.work / ("serve-" + name + ".log"));
    } catch (const std::exception& e) {
        c.fail(std::string("apr serve did not start: ") + e.what());
        return nullptr;
    }
}

// The log of the last completion: from its access line on.
std::string last_request_log(const std::string& log) {
    const size_t at = log.rfind("POST /v1/chat/completions");
    return at == std::string::npos ? "" : log.substr(at);
}

void serve_none(Cell& c, const Target& t, const ServeChild& s) {
    httplib::Client client("127.0.0.1", s.port());
    auto h = client.Get("/health");
    bool health = false;
    std::string seen = h ? h->body.substr(0, 200) : "no response";
    if (h && h->status == 200) {
        try {
            simdjson::dom::parser parser;
            simdjson::dom::element d = parser.parse(simdjson::padded_string(h->body));
            health = std::string_view(d["status"]) == "ok" && std::string_view(d["compute_mode"]) == "cpu";
        } catch (const simdjson::simdjson_error&) {
        }
    }
    const Reply r = ask(s, t, {});
    reply_check(c, r, t);
    const std::string log = s.wait_for_log("POST /v1/chat/completions 200", std::chrono::seconds(10));
    c.check(health && r.ok && r.trace.empty() && r.profile.empty() && log.find("[TRACE") == std::string::npos, 1,
            "/health ok (compute_mode cpu); no trace in the body or the log without a mode", "health: " + seen);
    const Verdict v = check_trace_headers(r.headers, t.layers, r.completion_tokens);
    c.check(r.ok && v.ok, 1, "X-Trace-* headers agree with the usage and the model's layers", r.ok ? v.detail : r.error);
}

void serve_trace(Cell& c, const Target& t) {
    auto s = start_server(c, t, {"--trace"}, "trace");
    if (!s) return;
    const Reply r = ask(*s, t, {});
    reply_check(c, r, t);
    const std::string log = last_request_log(s->wait_for_log("[TRACE] queue", std::chrono::seconds(10)));
    std::smatch m;
    const std::regex line(R"(\[TRACE\] queue ([\d.]+)ms, prompt (\d+) tokens \((\d+) cached\) in ([\d.]+)ms, generation (\d+) tokens in ([\d.]+)ms, ([\d.]+) tok/s, (\d+) layers at ([\d.]+)ms each)");
    const bool found = std::regex_search(log, m, line);
    c.check(found && std::stoi(m[8]) == t.layers && std::stod(m[7]) > 0 && std::stod(m[4]) > 0, 1,
            "a [TRACE] log line: queue, prompt and generation ms, tok/s, the model's layers", "log: " + log.substr(0, 400));
    c.check(found && r.ok && std::stol(m[2]) == r.prompt_tokens && std::stol(m[5]) == r.completion_tokens, 1,
            "the log line's tokens equal the response's usage",
            found ? fmt::format("log prompt {} / generation {}, usage {} / {}", std::string(m[2]), std::string(m[5]),
                                r.prompt_tokens, r.completion_tokens)
                  : "no [TRACE] line");
}

void serve_layer(Cell& c, const Target& t) {
    auto s = start_server(c, t, {"--trace-level", "layer"}, "layer");
    if (!s) return;
    Reply r;
    std::string table;
    for (int attempt = 0; attempt < 3; ++attempt) {
        r = ask(*s, t, {});
        // Each table ends with two "forward pass measured" lines (prompt, generation).
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (std::chrono::steady_clock::now() < deadline) {
            table = last_request_log(s->log());
            const std::regex measured("forward pass measured");
            if (std::distance(std::sregex_iterator(table.begin(), table.end(), measured), std::sregex_iterator()) >= 2)
                break;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        if (check_layer_totals(table).ok) break;
    }
    reply_check(c, r, t);
    const Verdict v = check_layer_tables(table, t.layers, 2);
    c.check(v.ok, 1, fmt::format("the request's layer table in the log ({} rows per phase, parts adding up)", t.layers), v.detail);
    const Verdict sum = check_layer_totals(table);
    c.check(sum.ok, 1, "layers + outside ops within 10% of the measured pass", sum.detail);
}

void serve_profile(Cell& c, const Target& t) {
    auto s = start_server(c, t, {"--profile"}, "profile");
    if (!s) return;
    const Reply r = ask(*s, t, {});
    reply_check(c, r, t);
    c.check(r.ok && !r.profile.empty(), 1, "a profile field in the completion", r.ok ? "no profile field" : r.error);
    const Verdict v = r.profile.empty() ? Verdict{false, "no profile field"} : check_profile_field(r.profile);
    c.check(v.ok, 1, "the roofline: peaks, both phases, shares adding up to 1, bottleneck", v.detail);
}

void serve_header(Cell& c, const Target& t, const ServeChild& s) {
    Reply r;
    Verdict content, totals{false, "not checked"};
    for (int attempt = 0; attempt < 3; ++attempt) {
        r = ask(s, t, {{"X-Trace-Level", "layer"}});
        if (!r.ok || r.trace.empty()) break;
        // The trace counts the prompt tokens evaluated: those not taken from the slot's cache.
        content = check_trace_field(r.trace, t.layers, r.prompt_tokens - r.cached_tokens, &totals);
        if (content.ok && totals.ok) break;
    }
    reply_check(c, r, t);
    if (r.ok && r.trace.empty()) content = {false, "no trace field in the body"};
    c.check(r.ok && content.ok, 1, "a trace field: the model's layers, rows adding up, the prompt's tokens",
            r.ok ? content.detail : r.error);
    c.check(r.ok && content.ok && totals.ok, 1, "layers + outside ops within 10% of the measured pass", totals.detail);
}

struct CellDef {
    std::string id, title, mode, backend;
};

const std::vector<CellDef>& cell_defs() {
    static const std::vector<CellDef> defs{
        {"T1", "run (no mode)", "none", "cpu"},
        {"T2", "run --trace", "trace", "cpu"},
        {"T3", "run --trace-level layer", "layer", "cpu"},
        {"T4", "run --profile", "profile", "cpu"},
        {"T5", "run --trace-output FILE", "trace-output", "cpu"},
        {"T6", "chat (no mode)", "none", "cpu"},
        {"T7", "chat --trace", "trace", "cpu"},
        {"T8", "chat --trace-level layer", "layer", "cpu"},
        {"T9", "chat --profile", "profile", "cpu"},
        {"T10", "serve (no mode): /health, headers", "none", "cpu"},
        {"T11", "serve --trace (log line)", "trace", "cpu"},
        {"T12", "serve --trace-level layer (log)", "layer", "cpu"},
        {"T13", "serve --profile (field)", "profile", "cpu"},
        {"T14", "serve X-Trace-Level: layer header", "x-trace-level", "cpu"},
        {"T15", "GPU: run --device cuda --trace", "trace", "cuda"},
    };
    return defs;
}

}  // namespace

std::vector<Cell> run_tracing(const QaOptions& o, const Sources& s, const GpuState& gpu,
                              const std::filesystem::path& work) {
    Target t;
    t.o = &o;
    t.work = work;
    std::string missing;
    if (o.formats.count("gguf")) {
        t.source = s.gguf;
        t.format = "gguf";
    } else if (o.formats.count("apr")) {
        t.source = s.gguf_apr;
        t.format = "apr";
        if (t.source.empty()) missing = "the APR conversion of " + s.gguf + " failed";
    } else {
        t.source = s.hf.value_or("");
        t.format = "safetensors";
        if (!s.hf) missing = s.hf_missing;
    }
    std::filesystem::create_directories(work / "cache");
    t.env = {"XDG_CACHE_HOME=" + (work / "cache").string()};
    if (missing.empty()) {
        try {
            const auto file = open_model_file(t.source);
            t.layers = static_cast<int>(file->config().num_layers);
            t.cases = cases_for(file->config());
        } catch (const std::exception& e) {
            missing = e.what();
        }
    }

    std::vector<Cell> cells;
    std::unique_ptr<ServeChild> plain;  // T10 and T14 share one server without a mode
    for (const CellDef& d : cell_defs()) {
        if (!o.wants_trace_mode(d.mode) || o.backends.count(d.backend) == 0) continue;
        Cell c;
        c.id = d.id;
        c.group = "T";
        c.title = d.title;
        c.backend = d.backend;
        c.format = t.format;
        c.source = t.source;
        c.max_points = 3;
        const auto start = std::chrono::steady_clock::now();
        if (d.backend == "cuda" && gpu.status == DeviceStatus::absent) {
            c.skip("no GPU: " + gpu.why);
        } else if (d.backend == "cuda" && gpu.status == DeviceStatus::broken) {
            c.fail("a GPU or driver is present but CUDA does not work: " + gpu.why);
        } else if (!missing.empty()) {
            if (t.format == "safetensors" && !s.hf) c.skip(missing);
            else c.fail(missing);
        } else {
            std::fprintf(stderr, "qa: %s %s\n", c.id.c_str(), c.title.c_str());
            const std::string& id = d.id;
            if ((id == "T10" || id == "T14") && !plain) plain = start_server(c, t, {}, "plain");
            if (id == "T1") run_none(c, t);
            else if (id == "T2") run_trace(c, t, {}, "");
            else if (id == "T3") run_layer(c, t);
            else if (id == "T4") run_profile(c, t);
            else if (id == "T5") run_output(c, t);
            else if (id == "T6") chat_none(c, t);
            else if (id == "T7") chat_trace(c, t);
            else if (id == "T8") chat_layer(c, t);
            else if (id == "T9") chat_profile(c, t);
            else if (id == "T10" && plain) serve_none(c, t, *plain);
            else if (id == "T11") serve_trace(c, t);
            else if (id == "T12") serve_layer(c, t);
            else if (id == "T13") serve_profile(c, t);
            else if (id == "T14" && plain) serve_header(c, t, *plain);
            else if (id == "T15") {
                Target gpu_target = t;
                gpu_target.device = "cuda";
                run_trace(c, gpu_target, {}, "cuda");
            }
            c.finish();
        }
        c.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        cells.push_back(std::move(c));
    }
    return cells;
}

}  // namespace apr::qa
