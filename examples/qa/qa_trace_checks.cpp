#include "qa_trace_checks.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <cmath>
#include <regex>
#include <sstream>
#include <vector>

namespace apr::qa {
namespace {

int count(const std::string& text, const std::regex& re) {
    return static_cast<int>(std::distance(std::sregex_iterator(text.begin(), text.end(), re), std::sregex_iterator()));
}

Verdict pass() { return {true, {}}; }
Verdict failed(std::string detail) { return {false, std::move(detail)}; }

}  // namespace

Verdict check_trace_kernels(const std::string& err, int layers, const std::string& kernel_has) {
    const std::regex qkv(R"(\[TRACE-CACHE\] Layer (\d+): QKV projection using (\w+) \(([^)]*)\))");
    std::vector<int> seen(static_cast<size_t>(layers), 0);
    for (auto it = std::sregex_iterator(err.begin(), err.end(), qkv); it != std::sregex_iterator(); ++it) {
        const int layer = std::stoi((*it)[1]);
        if (layer >= layers) return failed(fmt::format("a QKV line for layer {} of a {}-layer model", layer, layers));
        if (!kernel_has.empty() && std::string((*it)[3]).find(kernel_has) == std::string::npos)
            return failed(fmt::format("layer {}'s kernel is '{}', not a {} kernel", layer, std::string((*it)[3]), kernel_has));
        ++seen[static_cast<size_t>(layer)];
    }
    for (int l = 0; l < layers; ++l)
        if (seen[static_cast<size_t>(l)] == 0) return failed(fmt::format("no QKV projection line for layer {}", l));
    if (count(err, std::regex(fmt::format(R"(Layer {}: FFN down projection using \w+)", layers - 1))) < 1)
        return failed("no FFN down projection line for the last layer");
    if (count(err, std::regex(R"(\[TRACE-CACHE\] LM head: \d+ x \d+ using \w+)")) < 1) return failed("no LM head line");
    return pass();
}

Verdict check_trace_positions(const std::string& err, int layers, int min_passes, bool from_zero) {
    const std::regex pos(R"(\[TRACE-CACHE\] pos=(\d+)(\.\.(\d+))?: (\d+) layers took ([\d.]+)ms \((\d+) tokens?, forward pass ([\d.]+)ms\))");
    int passes = 0;
    for (auto it = std::sregex_iterator(err.begin(), err.end(), pos); it != std::sregex_iterator(); ++it) {
        const std::smatch& m = *it;
        if (passes == 0 && from_zero && m[1] != "0") return failed("the first pass starts at pos=" + std::string(m[1]));
        if (std::stoi(m[4]) != layers) return failed(fmt::format("a pass reports {} layers, the model has {}", std::string(m[4]), layers));
        const int first = std::stoi(m[1]);
        const int last = m[3].matched ? std::stoi(m[3]) : first;
        if (last - first + 1 != std::stoi(m[6]))
            return failed(fmt::format("pos={}..{} but {} tokens", first, last, std::string(m[6])));
        if (std::stod(m[5]) > std::stod(m[7]) * 1.001 + 0.001)
            return failed(fmt::format("layers took {} ms, more than the pass's {} ms", std::string(m[5]), std::string(m[7])));
        ++passes;
    }
    if (passes < min_passes) return failed(fmt::format("{} pass lines, expected at least {}", passes, min_passes));
    std::smatch s;
    if (!std::regex_search(err, s, std::regex(R"(summary: prompt (\d+) tokens in ([\d.]+)ms \(([\d.]+) tok/s\); generation (\d+) tokens)")))
        return failed("no summary line");
    if (!(std::stod(s[3]) > 0)) return failed("the summary's prompt tok/s is 0");
    return pass();
}

Verdict check_layer_tables(const std::string& err, int layers, int tables) {
    const int headers = count(err, std::regex(R"(Layer \| Attn \(ms\) \| FFN \(ms\) \| Norm \(ms\) \| Total \(ms\))"));
    if (headers != tables) return failed(fmt::format("{} layer tables, expected {}", headers, tables));
    std::istringstream lines(err);
    std::string line;
    int rows = 0;
    const std::regex one(R"(^\s*(\d+) \| +([\d.]+) \| +([\d.]+) \| +([\d.]+) \| +([\d.]+)$)");
    std::smatch m;
    while (std::getline(lines, line)) {
        if (!std::regex_match(line, m, one)) continue;
        ++rows;
        const double sum = std::stod(m[2]) + std::stod(m[3]) + std::stod(m[4]);
        if (std::abs(sum - std::stod(m[5])) > 0.002)
            return failed(fmt::format("row '{}': attn + ffn + norm = {:.3f}, not the total", line, sum));
        if (std::stoi(m[1]) >= layers) return failed(fmt::format("a row for layer {} of a {}-layer model", std::string(m[1]), layers));
    }
    if (rows != layers * tables) return failed(fmt::format("{} layer rows, expected {} x {}", rows, layers, tables));
    return pass();
}

Verdict check_layer_totals(const std::string& err) {
    const std::regex totals(R"(layers \+ those: ([\d.]+) ms; forward pass measured: ([\d.]+) ms)");
    std::string seen;
    bool ok = true;
    int n = 0;
    for (auto it = std::sregex_iterator(err.begin(), err.end(), totals); it != std::sregex_iterator(); ++it) {
        const double ops = std::stod((*it)[1]), pass_ms = std::stod((*it)[2]);
        seen += fmt::format("{}ops {:.3f} ms vs pass {:.3f} ms", n++ ? "; " : "", ops, pass_ms);
        ok = ok && pass_ms > 0 && std::abs(ops - pass_ms) <= 0.10 * pass_ms;
    }
    if (n == 0) return failed("no 'layers + those ... forward pass measured' line");
    return {ok, ok ? "" : seen};
}

Verdict check_profile_text(const std::string& err, int phases) {
    std::smatch m;
    if (!std::regex_search(err, m, std::regex(R"(\[PROFILE\] machine: .*, \d+ threads?: ([\d.]+) GB/s read bandwidth, ([\d.]+) GFLOP/s)")))
        return failed("no machine line");
    if (!(std::stod(m[1]) > 0 && std::stod(m[2]) > 0)) return failed("the measured peaks are 0");
    const int bottlenecks = count(err, std::regex(R"(\[PROFILE\] bottleneck: )"));
    const int recommendations = count(err, std::regex(R"(\[PROFILE\] recommendation: )"));
    const int shares = count(err, std::regex(R"(% of the time in memory-bound ops, \d+% in compute-bound ops)"));
    if (bottlenecks != phases || recommendations != phases || shares != phases)
        return failed(fmt::format("{} bottleneck, {} recommendation and {} share lines, expected {} each", bottlenecks,
                                  recommendations, shares, phases));
    const size_t gen = err.find("[PROFILE] generation:");
    if (gen == std::string::npos) return failed("no generation phase");
    const std::string g = err.substr(gen);
    if (!std::regex_search(g, m, std::regex(R"(FFN projections \(gate, up, down\) +\| +([\d.]+) \| +([\d.]+)% \| +([\d.]+) \|)")))
        return failed("no FFN projections row in the generation phase");
    if (!(std::stod(m[3]) > 0)) return failed("the FFN projections move 0 MB per token");
    return pass();
}

Verdict check_chrome_trace(const std::string& file, int layers, const std::string& model, const std::string& backend) {
    try {
        simdjson::dom::parser parser;
        simdjson::dom::element doc = parser.load(file);
        size_t ops = 0, passes = 0;
        for (simdjson::dom::element e : simdjson::dom::array(doc["traceEvents"])) {
            const std::string_view ph = e["ph"];
            if (ph == "M") continue;
            if (ph != "X") return failed(fmt::format("an event with ph '{}'", ph));
            if (!(double(e["ts"]) >= 0 && double(e["dur"]) >= 0)) return failed("an event with a negative ts or dur");
            if (std::string_view(e["name"]).empty()) return failed("an event without a name");
            simdjson::dom::object args = e["args"];
            (void)args;
            const int64_t tid = e["tid"];
            ops += tid == 2 ? 1 : 0;
            passes += tid == 1 ? 1 : 0;
        }
        if (passes < 2) return failed(fmt::format("{} forward passes on track 1, expected the prompt and a step", passes));
        if (ops < passes * static_cast<size_t>(layers) * 10)
            return failed(fmt::format("{} ops on track 2 for {} passes of {} layers", ops, passes, layers));
        simdjson::dom::element summary = doc["summary"];
        if (int64_t(summary["layers"]) != layers) return failed("summary.layers is not the model's");
        if (simdjson::dom::array(summary["per_layer"]).size() != static_cast<size_t>(layers))
            return failed("summary.per_layer does not have a row per layer");
        if (!(double(summary["prompt_tok_per_s"]) > 0)) return failed("summary.prompt_tok_per_s is 0");
        if (std::string_view(summary["model"]) != model) return failed("summary.model is not the model run");
        if (std::string_view(summary["backend"]).find(backend) != 0)
            return failed(fmt::format("summary.backend '{}' is not {}", std::string_view(summary["backend"]), backend));
        return pass();
    } catch (const simdjson::simdjson_error& e) {
        return failed(std::string("the trace is not the expected JSON: ") + e.what());
    }
}

Verdict check_trace_headers(const TraceHeaders& h, int layers, long completion_tokens) {
    if (!h.present) return failed("X-Trace-* headers missing");
    const std::string seen = fmt::format("time {} ms, tokens {}, {} tok/s, layers {}, layer {} ms", h.time_ms, h.tokens,
                                         h.tok_s, h.layers, h.layer_ms);
    const bool ok = h.layers == layers && h.tokens == static_cast<double>(completion_tokens) && h.time_ms > 0 &&
                    h.tok_s > 0 && h.tok_s >= h.tokens * 1000.0 / h.time_ms * 0.999 && h.layer_ms > 0 &&
                    h.layer_ms * h.layers <= h.time_ms;
    return {ok, ok ? "" : seen + fmt::format(" (usage: {} completion tokens, the model {} layers)", completion_tokens, layers)};
}

namespace {

Verdict check_trace_phase(simdjson::dom::element phase, int layers) {
    const auto rows = phase["layers"].get_array();
    if (rows.size() != static_cast<size_t>(layers)) return failed(fmt::format("{} rows, expected {}", rows.size(), layers));
    double sum = 0;
    int64_t expected = 0;
    for (simdjson::dom::element row : rows) {
        if (int64_t(row["layer"]) != expected++) return failed("rows out of layer order");
        const double parts = double(row["attn_ms"]) + double(row["ffn_ms"]) + double(row["norm_ms"]);
        if (std::abs(parts - double(row["total_ms"])) > 0.003) return failed("a row's parts do not add up to its total");
        sum += double(row["total_ms"]);
    }
    if (std::abs(sum - double(phase["layers_ms"])) > 0.01) return failed("the rows do not add up to layers_ms");
    if (!(double(phase["forward_ms"]) > 0)) return failed("forward_ms is 0");
    return pass();
}

}  // namespace

Verdict check_trace_field(const std::string& trace_json, int layers, long prompt_tokens, Verdict* totals) {
    try {
        simdjson::dom::parser parser;
        simdjson::dom::element t = parser.parse(simdjson::padded_string(trace_json));
        if (int64_t(t["layers"]) != layers) return failed("trace.layers is not the model's");
        if (int64_t(t["prompt"]["tokens"]) != prompt_tokens)
            return failed(fmt::format("trace.prompt.tokens {} but the usage says {} prompt tokens were evaluated (not cached)",
                                      int64_t(t["prompt"]["tokens"]), prompt_tokens));
        for (const char* name : {"prompt", "generation"}) {
            const Verdict v = check_trace_phase(t[name], layers);
            if (!v.ok) return failed(std::string(name) + ": " + v.detail);
        }
        if (std::string_view(t["text"]).find("Layer | Attn (ms) | FFN (ms) | Norm (ms) | Total (ms)") == std::string_view::npos)
            return failed("trace.text has no layer table");
        if (totals) {
            std::string seen;
            bool ok = true;
            for (const char* name : {"prompt", "generation"}) {
                const double ops = double(t[name]["layers_ms"]) + double(t[name]["outside_layers_ms"]);
                const double forward = double(t[name]["forward_ms"]);
                seen += fmt::format("{}: ops {:.3f} ms vs pass {:.3f} ms; ", name, ops, forward);
                ok = ok && std::abs(ops - forward) <= 0.10 * forward;
            }
            *totals = {ok, ok ? "" : seen};
        }
        return pass();
    } catch (const simdjson::simdjson_error& e) {
        return failed(std::string("the trace field is not the expected JSON: ") + e.what());
    }
}

Verdict check_profile_field(const std::string& profile_json) {
    try {
        simdjson::dom::parser parser;
        simdjson::dom::element p = parser.parse(simdjson::padded_string(profile_json));
        if (!(double(p["machine"]["bandwidth_gbs"]) > 0 && double(p["machine"]["gflops"]) > 0))
            return failed("the machine's peaks are 0");
        if (!(double(p["ridge_flop_per_byte"]) > 0)) return failed("no ridge point");
        const auto phases = p["phases"].get_array();
        if (phases.size() != 2) return failed(fmt::format("{} phases, expected prompt and generation", phases.size()));
        for (simdjson::dom::element ph : phases) {
            double share = 0;
            bool ffn = false;
            for (simdjson::dom::element c : ph["classes"].get_array()) {
                share += double(c["share"]);
                if (std::string_view(c["class"]).starts_with("FFN projections"))
                    ffn = double(c["mb_per_token"]) > 0 && double(c["mflop_per_token"]) > 0;
            }
            const std::string_view name = ph["phase"];
            if (!ffn) return failed(fmt::format("{}: no FFN projections class with bytes and FLOPs", name));
            if (std::abs(share - 1.0) > 0.01) return failed(fmt::format("{}: the classes' shares add up to {:.3f}", name, share));
            if (std::abs(double(ph["memory_bound_share"]) + double(ph["compute_bound_share"]) - 1.0) > 0.01)
                return failed(fmt::format("{}: memory- and compute-bound shares do not add up to 1", name));
            if (std::string_view(ph["bottleneck"]).empty() || std::string_view(ph["recommendation"]).empty())
                return failed(fmt::format("{}: no bottleneck or recommendation", name));
        }
        return pass();
    } catch (const simdjson::simdjson_error& e) {
        return failed(std::string("the profile field is not the expected JSON: ") + e.what());
    }
}

}  // namespace apr::qa
