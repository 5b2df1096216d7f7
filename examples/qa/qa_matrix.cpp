#include "qa_matrix.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>

#include "apr/chat_template.hpp"
#include "apr/error.hpp"
#include "apr/generate.hpp"
#include "apr/session.hpp"
#include "qa_cases.hpp"

namespace apr::qa {
namespace {

struct Spec {
    std::string id, group, title, backend, format, source, missing;
    Device device = Device::cpu;
    bool missing_skips = false;  // `missing` is a source that is not there (skip), not a failure
};

// What a cell produced, kept until the whole class has run (the token
// comparison needs every cell).
struct Run {
    Cell cell;
    bool ran = false;
    std::vector<std::vector<int32_t>> tokens;  // per case
};

struct Points {
    int device, answers, tokens, speed;
};
constexpr Points kClassA{1, 7, 5, 2}, kClassB{1, 4, 4, 1};

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

std::string shown(const std::string& text) {
    std::string out;
    for (char c : text) out += c == '\n' ? std::string("\\n") : std::string(1, c);
    return out.size() > 60 ? out.substr(0, 57) + "..." : out;
}

Run run_cell(const Spec& spec, const QaOptions& o, const GpuState& gpu, const Points& pts) {
    Run run;
    Cell& c = run.cell;
    c.id = spec.id;
    c.group = spec.group;
    c.title = spec.title;
    c.backend = spec.backend;
    c.format = spec.format;
    c.source = spec.source;
    c.max_points = pts.device + pts.answers + pts.tokens + pts.speed;
    if (spec.device == Device::cuda && gpu.status == DeviceStatus::absent) {
        c.skip("no GPU: " + gpu.why);
        return run;
    }
    if (spec.device == Device::cuda && gpu.status == DeviceStatus::broken) {
        c.fail("a GPU or driver is present but CUDA does not work: " + gpu.why);
        return run;
    }
    if (!spec.missing.empty()) {
        if (spec.missing_skips) c.skip(spec.missing);
        else c.fail(spec.missing);
        return run;
    }
    const auto start = std::chrono::steady_clock::now();
    std::fprintf(stderr, "qa: %s %s: %s\n", c.id.c_str(), c.title.c_str(), c.source.c_str());
    try {
        ModelParams mp;
        mp.device = spec.device;
        mp.threads = static_cast<int>(o.threads);
        auto model = Model::load(spec.source, mp);
        c.check(model->device() == spec.device, pts.device, fmt::format("runs on {}", spec.backend),
                fmt::format("the model runs on {}", device_name(model->device())));
        const CaseSet set = cases_for(model->config());
        const ChatTemplate tmpl = ChatTemplate::from_model_file(model->file());
        Session session(*model);
        int right = 0;
        std::string wrong;
        int64_t prompt_tokens = 0, gen_tokens = 0;
        double prompt_ms = 0, gen_ms = 0;
        for (size_t i = 0; i < set.cases.size(); ++i) {
            const ChatCase& k = set.cases[i];
            session.reset();
            GenerateParams gp;
            gp.max_tokens = o.max_tokens;
            const GenerateResult r = generate(session, tmpl.render(k.messages, true), gp);
            run.tokens.push_back(r.tokens);
            c.answers.push_back(r.text);
            if (normalized(r.text) == k.answer) {
                ++right;
            } else if (wrong.empty()) {
                wrong = fmt::format("case {} \"{}\": expected \"{}\", got \"{}\"", i, shown(k.messages.back().content),
                                    shown(k.answer), shown(r.text));
            }
            prompt_tokens += r.prompt_tokens;
            gen_tokens += r.completion_tokens;
            prompt_ms += r.prompt_ms;
            gen_ms += r.generation_ms;
        }
        const int n = static_cast<int>(set.cases.size());
        c.check_partial(pts.answers * right / n, pts.answers, fmt::format("{}/{} answers right ({})", right, n, set.name),
                        fmt::format("{}/{} right; first wrong: {}", right, n, wrong));
        if (prompt_ms > 0) c.prompt_tok_s = prompt_tokens * 1000.0 / prompt_ms;
        if (gen_ms > 0) c.gen_tok_s = gen_tokens * 1000.0 / gen_ms;
        const bool pp_ok = c.prompt_tok_s && std::isfinite(*c.prompt_tok_s) && *c.prompt_tok_s > 0;
        const bool tg_ok = c.gen_tok_s && std::isfinite(*c.gen_tok_s) && *c.gen_tok_s > 0;
        const std::string speed = fmt::format("tok/s reported ({} prompt tokens, {} generated)", prompt_tokens, gen_tokens);
        if (pts.speed >= 2) {
            c.check(pp_ok, pts.speed / 2, "prompt " + speed, "no prompt time measured");
            c.check(tg_ok, pts.speed - pts.speed / 2, "generation tok/s reported", "no generation time measured");
        } else {
            c.check(pp_ok && tg_ok, pts.speed, speed, "a phase has no measured time");
        }
        run.ran = true;
    } catch (const std::exception& e) {
        c.fail(e.what());
    }
    c.seconds = seconds_since(start);
    return run;
}

// Every cell that ran is compared with every other one of its class, case by case.
void score_tokens(std::vector<Run>& runs, const Points& pts) {
    for (Run& a : runs) {
        if (!a.ran) continue;
        std::string others, diff;
        for (const Run& b : runs) {
            if (&a == &b || !b.ran) continue;
            others += (others.empty() ? "" : ", ") + b.cell.id;
            if (!diff.empty()) continue;
            for (size_t i = 0; i < a.tokens.size() && i < b.tokens.size() && diff.empty(); ++i) {
                const auto& x = a.tokens[i];
                const auto& y = b.tokens[i];
                for (size_t t = 0; t < std::max(x.size(), y.size()); ++t) {
                    const std::string xs = t < x.size() ? std::to_string(x[t]) : "end";
                    const std::string ys = t < y.size() ? std::to_string(y[t]) : "end";
                    if (xs != ys) {
                        diff = fmt::format("case {} differs from {} at token {} ({} vs {})", i, b.cell.id, t, xs, ys);
                        break;
                    }
                }
            }
            if (diff.empty() && a.tokens.size() != b.tokens.size()) diff = "a different number of cases than " + b.cell.id;
        }
        const std::string what = others.empty() ? "tokens: no other cell of the class ran to compare with"
                                                : "tokens equal " + others;
        a.cell.check(diff.empty(), pts.tokens, what, diff);
    }
    for (Run& r : runs)
        if (r.ran) r.cell.finish();
}

}  // namespace

GpuState probe_gpu() {
    GpuState g;
    g.status = device_status(Device::cuda, &g.why);
    return g;
}

std::vector<Cell> run_matrix(const QaOptions& o, const Sources& s, const GpuState& gpu) {
    std::vector<Cell> cells;
    const auto apr_missing = [](const std::string& converted, const std::string& source) {
        return converted.empty() ? "the APR conversion of " + source + " failed (see the conversions)" : std::string();
    };
    if (o.quantized) {
        std::vector<Spec> specs{
            {"A1", "A", "CPU GGUF (quantized)", "cpu", "gguf", s.gguf, "", Device::cpu},
            {"A2", "A", "CPU APR (quantization kept)", "cpu", "apr", s.gguf_apr, apr_missing(s.gguf_apr, s.gguf), Device::cpu},
            {"A3", "A", "GPU GGUF (quantized)", "cuda", "gguf", s.gguf, "", Device::cuda},
            {"A4", "A", "GPU APR (quantization kept)", "cuda", "apr", s.gguf_apr, apr_missing(s.gguf_apr, s.gguf), Device::cuda},
        };
        std::vector<Run> runs;
        for (const Spec& spec : specs)
            if (o.wants(spec.backend, spec.format)) runs.push_back(run_cell(spec, o, gpu, kClassA));
        score_tokens(runs, kClassA);
        for (Run& r : runs) cells.push_back(std::move(r.cell));
    }
    if (o.full_precision) {
        const std::string hf = s.hf.value_or("");
        const std::string no_hf = s.hf ? "" : s.hf_missing;
        const std::string no_apr = !s.hf ? s.hf_missing : apr_missing(s.hf_apr, hf);
        const std::string apr_source = s.hf ? s.hf_apr : "";
        std::vector<Spec> specs{
            {"B1", "B", "CPU SafeTensors (full precision)", "cpu", "safetensors", hf, no_hf, Device::cpu},
            {"B2", "B", "CPU APR F32", "cpu", "apr", apr_source, no_apr, Device::cpu},
            {"B3", "B", "GPU SafeTensors (full precision)", "cuda", "safetensors", hf, no_hf, Device::cuda},
            {"B4", "B", "GPU APR F32", "cuda", "apr", apr_source, no_apr, Device::cuda},
        };
        for (Spec& spec : specs) spec.missing_skips = !s.hf.has_value();
        std::vector<Run> runs;
        for (const Spec& spec : specs)
            if (o.wants(spec.backend, spec.format)) runs.push_back(run_cell(spec, o, gpu, kClassB));
        score_tokens(runs, kClassB);
        for (Run& r : runs) cells.push_back(std::move(r.cell));
    }
    return cells;
}

}  // namespace apr::qa
