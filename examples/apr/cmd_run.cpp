// apr run [MODEL] --prompt TEXT [...]: one completion, streamed to stdout.
// The prompt goes through the model's chat template as one user message
// (after --system) unless --raw; greedy unless --temperature is given.
#include <fmt/core.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "apr/chat_template.hpp"
#include "apr/error.hpp"
#include "apr/generate.hpp"
#include "apr/model.hpp"
#include "apr/session.hpp"
#include "apr/tokenizer.hpp"
#include "commands.hpp"
#include "flags.hpp"
#include "generation_flags.hpp"
#include "json_text.hpp"
#include "session_flags.hpp"
#include "trace_diff.hpp"
#include "trace_flags.hpp"

namespace apr::cli {
namespace {

std::string result_json(const GenerateResult& r) {
    std::string tokens;
    for (size_t i = 0; i < r.tokens.size(); ++i) tokens += fmt::format("{}{}", i ? "," : "", r.tokens[i]);
    const double pp = r.prompt_ms > 0 ? r.prompt_tokens * 1000.0 / r.prompt_ms : 0.0;
    const double tg = r.generation_ms > 0 ? r.completion_tokens * 1000.0 / r.generation_ms : 0.0;
    std::string out = fmt::format(
        "{{\"text\":{},\"tokens\":[{}],\"prompt_tokens\":{},\"completion_tokens\":{},\"finish_reason\":\"{}\","
        "\"timings\":{{\"prompt_ms\":{:.3f},\"generation_ms\":{:.3f},\"prompt_tok_per_s\":{:.3f},\"gen_tok_per_s\":{:.3f}}}",
        json_string(r.text), tokens, r.prompt_tokens, r.completion_tokens, finish_reason_name(r.finish_reason),
        r.prompt_ms, r.generation_ms, pp, tg);
    if (r.context_full) out += ",\"context_full\":true";
    if (!r.logprobs.empty()) {
        out += ",\"logprobs\":[";
        for (size_t i = 0; i < r.logprobs.size(); ++i) {
            const StepLogprobs& s = r.logprobs[i];
            out += fmt::format("{}{{\"id\":{},\"logprob\":{},\"top_logprobs\":[", i ? "," : "", s.id, json_number(s.logprob));
            for (size_t j = 0; j < s.top.size(); ++j)
                out += fmt::format("{}{{\"id\":{},\"logprob\":{}}}", j ? "," : "", s.top[j].id, json_number(s.top[j].logprob));
            out += "]}";
        }
        out += "]";
    }
    return out + "}";
}

std::string build_prompt(const Model& model, const std::string& prompt, const std::optional<std::string>& system,
                         bool raw) {
    if (raw) return system ? *system + prompt : prompt;
    std::vector<ChatMessage> messages;
    if (system) messages.push_back({"system", *system, {}});
    messages.push_back({"user", prompt, {}});
    const ChatTemplate tmpl = ChatTemplate::from_model_file(model.file());
    if (!tmpl.warning().empty()) fmt::print(stderr, "apr run: {}\n", tmpl.warning());
    return tmpl.render(messages, true);
}

}  // namespace

int cmd_run(const Args& args) {
    Flags flags("apr run", "[MODEL] --prompt TEXT [options]  |  MODEL_A MODEL_B --prompt TEXT --trace-diff [--json]",
                "Generate one completion for a prompt. MODEL is a GGUF file, a SafeTensors file or a Hugging Face\n"
                "folder (default: the bundled model). The prompt is wrapped in the model's chat template as one\n"
                "user message unless --raw. Text streams to stdout; a summary goes to stderr. The trace modes\n"
                "(docs/tracing.md) report on stderr; --trace-diff runs the prompt through two models step by step\n"
                "(greedy, --max-tokens steps) and exits 0 when they agree, 1 when they part.");
    std::optional<std::string> prompt;
    GenerationFlags gen;
    SessionFlags session_flags;
    int64_t logprobs = 0;
    bool raw = false, json = false;
    flags.add("--prompt", &prompt, "the prompt (required)");
    gen.add_to(flags);
    flags.add("--raw", &raw, "no chat template; special tokens written in the prompt are parsed");
    session_flags.add_to(flags);
    flags.add("--json", &json, "print one JSON object instead of streaming text");
    flags.add("--logprobs", &logprobs, "with --json: the top K log-probabilities of each step", "K");
    TraceFlags trace_flags;
    trace_flags.add_to(flags);
    bool trace_diff = false;
    double diff_tolerance = 0.02;
    flags.add("--trace-diff", &trace_diff, "compare MODEL_A and MODEL_B layer by layer (with --json: as JSON on stdout)");
    flags.add("--diff-tolerance", &diff_tolerance, "relative difference above which a layer counts as diverged");
    const std::vector<std::string> positional = flags.parse(args);
    if (!prompt) throw UsageError("--prompt is required");
    gen.validate();
    session_flags.validate();
    trace_flags.validate();
    if (trace_diff) {
        if (positional.size() != 2) throw UsageError("--trace-diff needs two models: MODEL_A MODEL_B");
        if (!(diff_tolerance > 0)) throw UsageError("--diff-tolerance must be > 0");
        TraceDiffOptions o;
        o.model_a = positional[0];
        o.model_b = positional[1];
        o.prompt = *prompt;
        o.raw = raw;
        o.json = json;
        o.tolerance = diff_tolerance;
        o.steps = gen.max_tokens;
        o.threads = gen.threads;
        o.system = gen.system;
        return run_trace_diff(o);
    }
    if (positional.size() > 1) throw UsageError("expected at most one MODEL (two only with --trace-diff)");
    if (logprobs < 0) throw UsageError("--logprobs must be >= 0");
    const std::string path = positional.empty() ? default_model_path() : positional[0];

    GenerateParams gp = gen.generate_params();
    gp.logprobs = logprobs;

    TraceReporter reporter(trace_flags, path);
    const auto load_start = std::chrono::steady_clock::now();
    auto model = Model::load(path, gen.model_params());
    reporter.loaded(*model, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - load_start).count());
    std::unique_ptr<trace::Recorder> recorder = trace_flags.make_recorder();
    if (model->tokenizer() == nullptr) throw Error(ErrorCode::unsupported, path + ": the model has no tokenizer");
    SessionParams sp = session_flags.params();
    sp.observer = recorder.get();
    Session session(*model, sp);

    const std::string text = build_prompt(*model, *prompt, gen.system, raw);
    TokenCallback stream;
    if (!json)
        stream = [](const GeneratedToken& t) {
            if (!t.text.empty()) {
                std::fwrite(t.text.data(), 1, t.text.size(), stdout);
                std::fflush(stdout);
            }
            return true;
        };
    const GenerateResult r = generate(session, text, gp, stream);
    if (json) {
        fmt::print("{}\n", result_json(r));
    } else {
        fmt::print("\n");
        std::fflush(stdout);
        const double pp = r.prompt_ms > 0 ? r.prompt_tokens * 1000.0 / r.prompt_ms : 0.0;
        const double tg = r.generation_ms > 0 ? r.completion_tokens * 1000.0 / r.generation_ms : 0.0;
        fmt::print(stderr, "[{} prompt tokens at {:.1f} tok/s, {} generated at {:.1f} tok/s, finish: {}{}, device: {}]\n",
                   r.prompt_tokens, pp, r.completion_tokens, tg, finish_reason_name(r.finish_reason),
                   r.context_full ? fmt::format(" (the context of {} positions is full)", session.context_length()) : "",
                   device_name(model->device()));
    }
    if (recorder) reporter.report(*recorder, *model, 0, session.kv_cache_type());
    reporter.finished();
    return 0;
}

}  // namespace apr::cli
