#include "qa_report.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "json_text.hpp"

namespace apr::qa {

using cli::json_number;
using cli::json_string;

std::string_view status_name(Status s) {
    switch (s) {
        case Status::pass: return "PASS";
        case Status::fail: return "FAIL";
        case Status::skip: return "SKIP";
    }
    return "?";
}

void Cell::check(bool ok, int points, std::string what, std::string detail) {
    checks.push_back({std::move(what), ok ? points : 0, points, ok, ok ? std::string() : std::move(detail)});
}

void Cell::check_partial(int earned, int points, std::string what, std::string detail) {
    const bool ok = earned == points;
    checks.push_back({std::move(what), earned, points, ok, ok ? std::string() : std::move(detail)});
}

int Cell::points() const {
    int n = 0;
    for (const Check& c : checks) n += c.points;
    return n;
}

void Cell::finish() {
    int max = 0;
    bool all = !checks.empty();
    for (const Check& c : checks) {
        max += c.max_points;
        all = all && c.ok;
    }
    status = all && max == max_points ? Status::pass : Status::fail;
}

void Cell::skip(std::string why) {
    status = Status::skip;
    skip_reason = std::move(why);
    checks.clear();
}

void Cell::fail(std::string why) {
    checks.clear();
    check(false, max_points, "runs", std::move(why));
    status = Status::fail;
}

std::string Cell::reason() const {
    if (status == Status::skip) return skip_reason;
    std::string failed, held;
    for (const Check& c : checks) {
        if (c.ok) {
            held += (held.empty() ? "" : "; ") + c.what;
        } else {
            failed += fmt::format("{}NOT {} (-{}){}", failed.empty() ? "" : "; ", c.what, c.max_points - c.points,
                                  c.detail.empty() ? "" : ": " + c.detail);
        }
    }
    return status == Status::pass ? held : failed;
}

int Results::points(const std::string& group) const {
    int n = 0;
    for (const Cell& c : cells)
        if (c.group == group) n += c.points();
    return n;
}

int Results::max_points(const std::string& group) const {
    int n = 0;
    for (const Cell& c : cells)
        if (c.group == group) n += c.max_points;
    return n;
}

int Results::count(Status s) const {
    int n = 0;
    for (const Cell& c : cells) n += c.status == s ? 1 : 0;
    return n;
}

bool Results::any_failed() const {
    if (count(Status::fail) > 0) return true;
    for (const ParityLine& p : parity)
        if (p.status == Status::fail) return true;
    for (const Conversion& c : conversions)
        if (!c.ok) return true;
    return false;
}

namespace {

// The full-size totals of the issue: a run that selected fewer cells still
// reads against 60/40/45, so a filtered run never looks complete.
constexpr int kClassA = 60, kClassB = 40, kTracing = 45;

std::string speed_text(const Cell& c) {
    if (!c.prompt_tok_s && !c.gen_tok_s) return "";
    return fmt::format("{:.1f} / {:.1f}", c.prompt_tok_s.value_or(0), c.gen_tok_s.value_or(0));
}

}  // namespace

std::string format_table(const Results& r) {
    std::string out;
    out += fmt::format("{:<4} {:<34} {:<7} {:<11} {:>7}  {:<4}  {:>15}  {}\n", "cell", "what", "backend", "format",
                       "points", "", "pp / tg tok/s", "reason");
    for (const Cell& c : r.cells) {
        out += fmt::format("{:<4} {:<34} {:<7} {:<11} {:>7}  {:<4}  {:>15}  {}\n", c.id, c.title, c.backend, c.format,
                           fmt::format("{}/{}", c.points(), c.max_points), status_name(c.status), speed_text(c),
                           c.reason());
    }
    if (!r.parity.empty()) {
        out += fmt::format("\nparity with {}:\n", r.parity_engine);
        for (const ParityLine& p : r.parity)
            out += fmt::format("  {:<12} {}  {}\n", p.name, status_name(p.status), p.reason);
    }
    for (const Conversion& c : r.conversions)
        if (!c.ok) out += fmt::format("\nconversion FAILED: {} -> {}: {}\n", c.source, c.output, c.error);
    out += fmt::format("\nClass A {}/{}, Class B {}/{}, Tracing {}/{}\n", r.points("A"), kClassA, r.points("B"), kClassB,
                       r.points("T"), kTracing);
    out += fmt::format("{} cells: {} PASS, {} FAIL, {} SKIP\n", r.cells.size(), r.count(Status::pass),
                       r.count(Status::fail), r.count(Status::skip));
    return out;
}

std::string format_json(const Results& r) {
    std::string out = "{\n";
    out += fmt::format(" \"model\": {},\n \"hf_model\": {},\n \"machine\": {},\n", json_string(r.model),
                       r.hf_model.empty() ? "null" : json_string(r.hf_model), json_string(r.machine));
    out += " \"conversions\": [";
    for (size_t i = 0; i < r.conversions.size(); ++i) {
        const Conversion& c = r.conversions[i];
        out += fmt::format("{}\n  {{\"source\": {}, \"output\": {}, \"what\": {}, \"ok\": {}, \"seconds\": {}, \"error\": {}}}",
                           i ? "," : "", json_string(c.source), json_string(c.output), json_string(c.what),
                           c.ok ? "true" : "false", json_number(c.seconds), json_string(c.error));
    }
    out += "],\n \"cells\": [";
    for (size_t i = 0; i < r.cells.size(); ++i) {
        const Cell& c = r.cells[i];
        out += fmt::format(
            "{}\n  {{\"id\": {}, \"group\": {}, \"title\": {}, \"backend\": {}, \"format\": {}, \"source\": {}, "
            "\"status\": {}, \"points\": {}, \"max_points\": {}, \"reason\": {}, \"seconds\": {}",
            i ? "," : "", json_string(c.id), json_string(c.group), json_string(c.title), json_string(c.backend),
            json_string(c.format), json_string(c.source), json_string(status_name(c.status)), c.points(), c.max_points,
            json_string(c.reason()), json_number(c.seconds));
        if (c.prompt_tok_s) out += fmt::format(", \"prompt_tok_per_s\": {}", json_number(*c.prompt_tok_s));
        if (c.gen_tok_s) out += fmt::format(", \"gen_tok_per_s\": {}", json_number(*c.gen_tok_s));
        if (!c.answers.empty()) {
            out += ", \"answers\": [";
            for (size_t k = 0; k < c.answers.size(); ++k) out += (k ? ", " : "") + json_string(c.answers[k]);
            out += "]";
        }
        out += ", \"checks\": [";
        for (size_t k = 0; k < c.checks.size(); ++k) {
            const Check& ch = c.checks[k];
            out += fmt::format("{}{{\"what\": {}, \"ok\": {}, \"points\": {}, \"max_points\": {}, \"detail\": {}}}",
                               k ? ", " : "", json_string(ch.what), ch.ok ? "true" : "false", ch.points, ch.max_points,
                               json_string(ch.detail));
        }
        out += "]}";
    }
    out += "],\n \"parity\": {\"engine\": " + json_string(r.parity_engine) + ", \"lines\": [";
    for (size_t i = 0; i < r.parity.size(); ++i)
        out += fmt::format("{}{{\"name\": {}, \"status\": {}, \"reason\": {}}}", i ? ", " : "", json_string(r.parity[i].name),
                           json_string(status_name(r.parity[i].status)), json_string(r.parity[i].reason));
    out += "]},\n";
    out += fmt::format(
        " \"totals\": {{\"class_a\": {{\"points\": {}, \"max\": {}, \"selected_max\": {}}}, \"class_b\": {{\"points\": {}, "
        "\"max\": {}, \"selected_max\": {}}}, \"tracing\": {{\"points\": {}, \"max\": {}, \"selected_max\": {}}}, "
        "\"pass\": {}, \"fail\": {}, \"skip\": {}}},\n",
        r.points("A"), kClassA, r.max_points("A"), r.points("B"), kClassB, r.max_points("B"), r.points("T"), kTracing,
        r.max_points("T"), r.count(Status::pass), r.count(Status::fail), r.count(Status::skip));
    out += fmt::format(" \"ok\": {}\n}}\n", r.any_failed() ? "false" : "true");
    return out;
}

}  // namespace apr::qa
