// apr bench [MODEL] [--prompt-tokens N] [--gen-tokens N] [--depth D[,D...]]
//           [--sequences B[,B...]] [--repetitions R] [--json] [--assert-min-tok-s X]:
// prompt-processing and generation speed, like llama-bench (-p, -n, -d, -r, -o json).
// For each depth D the session is first filled with D tokens (not timed);
// then, R times: N prompt tokens are evaluated in one call (timed: ppN @ dD)
// and the cache is cut back to D; M tokens are evaluated one at a time
// (timed: tgM @ dD) and the cache is cut back to D again. Each test reports
// the median of its R rates and their spread (standard deviation, min, max).
// With --sequences B (B > 1), tgM xB @ dD decodes B sequences together, each
// holding its own D tokens, one batched forward pass per step
// (apr::BatchEvaluator, as `apr serve --parallel` runs its decode rows; like
// llama-batched-bench's -npl), and reports the aggregate B * M tokens per
// second. B = 1 is the single-session tgM.
// An untimed warm-up runs first, as llama-bench's warm-up run does: one
// prompt of N tokens (when --prompt-tokens > 0) and one token, so the first
// repetition does not pay for page faults, cold caches and one-time setup
// of the prompt path (on a GPU: loading cuBLAS, its workspace and scratch).
// The token ids are seeded pseudo-random ids, as llama-bench uses; speed
// does not depend on them.
//
// --assert-min-tok-s X makes the command a check for users' CI: exit status
// 3 (and a line on stderr naming the test) when any test's median is below X.
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "apr/batch.hpp"
#include "apr/error.hpp"
#include "apr/model.hpp"
#include "apr/session.hpp"
#include "apr/version.hpp"
#include "commands.hpp"
#include "device_flags.hpp"
#include "flags.hpp"
#include "json_text.hpp"
#include "session_flags.hpp"

namespace apr::cli {
namespace {

// "0,4096,16384" -> {0, 4096, 16384}; `flag` names the list in errors, each
// value at least `least`.
std::vector<int64_t> parse_list(const std::string& text, const char* flag, int64_t least) {
    std::vector<int64_t> out;
    size_t start = 0;
    while (start <= text.size()) {
        const size_t comma = std::min(text.find(',', start), text.size());
        const std::string item = text.substr(start, comma - start);
        try {
            size_t used = 0;
            const long long v = std::stoll(item, &used);
            if (used != item.size() || v < least) throw std::invalid_argument(item);
            out.push_back(v);
        } catch (const std::exception&) {
            throw UsageError(fmt::format("{} expects integers of at least {} separated by commas, got '{}'", flag, least, text));
        }
        start = comma + 1;
    }
    return out;
}

// Deterministic ids in [0, vocab): a 64-bit LCG's high bits.
class TokenStream {
public:
    explicit TokenStream(int64_t vocab) : vocab_(static_cast<uint64_t>(vocab)) {}
    std::vector<int32_t> take(int64_t n) {
        std::vector<int32_t> ids(static_cast<size_t>(n));
        for (auto& id : ids) {
            state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
            id = static_cast<int32_t>((state_ >> 33) % vocab_);
        }
        return ids;
    }

private:
    uint64_t vocab_;
    uint64_t state_ = 0x5eed;
};

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// One test (ppN or tgN at one depth) and its R rates.
struct TestResult {
    std::string kind;  // "pp" or "tg"
    int64_t tokens = 0;
    int64_t depth = 0;
    int64_t sequences = 1;  // tg: sequences decoded together (tok_s is their sum)
    std::vector<double> tok_s;

    std::string name() const {
        return sequences > 1 ? fmt::format("{}{} x{} @ d{}", kind, tokens, sequences, depth)
                             : fmt::format("{}{} @ d{}", kind, tokens, depth);
    }
    double median() const {
        std::vector<double> v = tok_s;
        std::sort(v.begin(), v.end());
        const size_t n = v.size();
        return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }
    double mean() const {
        double s = 0;
        for (double x : tok_s) s += x;
        return s / static_cast<double>(tok_s.size());
    }
    // Sample standard deviation (0 for one repetition), as llama-bench's "±".
    double stddev() const {
        if (tok_s.size() < 2) return 0;
        const double m = mean();
        double s = 0;
        for (double x : tok_s) s += (x - m) * (x - m);
        return std::sqrt(s / static_cast<double>(tok_s.size() - 1));
    }
    double min() const { return *std::min_element(tok_s.begin(), tok_s.end()); }
    double max() const { return *std::max_element(tok_s.begin(), tok_s.end()); }
};

// The pp and tg tests at one depth, `reps` times each (pp and tg of one
// repetition back to back, so a busy machine slows both alike).
void bench_depth(Session& session, TokenStream& ids, int64_t depth, int64_t prompt_tokens, int64_t gen_tokens,
                 int64_t reps, TestResult* pp, TestResult* tg) {
    session.reset();
    if (depth > 0) session.evaluate(ids.take(depth));
    for (int64_t r = 0; r < reps; ++r) {
        if (prompt_tokens > 0) {
            const std::vector<int32_t> prompt = ids.take(prompt_tokens);
            const auto start = std::chrono::steady_clock::now();
            session.evaluate(prompt);
            pp->tok_s.push_back(static_cast<double>(prompt_tokens) / seconds_since(start));
            session.truncate(depth);
        }
        if (gen_tokens > 0) {
            const std::vector<int32_t> gen = ids.take(gen_tokens);
            const auto start = std::chrono::steady_clock::now();
            // As greedy decoding runs a step: only the argmax id comes back (on a
            // GPU the logits stay on the device).
            for (int32_t id : gen) session.evaluate_greedy(std::span<const int32_t>(&id, 1));
            tg->tok_s.push_back(static_cast<double>(gen_tokens) / seconds_since(start));
            session.truncate(depth);
        }
    }
}

// Batched generation at one depth: the first `sequences` of `sessions` each
// hold `depth` tokens of their own, then decode `gen_tokens` steps together,
// `reps` times (each sequence cut back to `depth` after each).
void bench_batched(std::vector<std::unique_ptr<Session>>& sessions, BatchEvaluator& evaluator, TokenStream& ids,
                   int64_t depth, int64_t gen_tokens, int64_t reps, int64_t sequences, TestResult* tg) {
    const auto n = static_cast<size_t>(sequences);
    std::vector<int32_t> next(n);
    for (size_t s = 0; s < n; ++s) {
        sessions[s]->reset();
        if (depth > 0) sessions[s]->evaluate(ids.take(depth));
    }
    std::vector<BatchItem> items(n);
    for (int64_t r = 0; r < reps; ++r) {
        const std::vector<int32_t> first = ids.take(sequences);
        std::copy(first.begin(), first.end(), next.begin());
        const auto start = std::chrono::steady_clock::now();
        for (int64_t step = 0; step < gen_tokens; ++step) {
            for (size_t s = 0; s < n; ++s) items[s] = {sessions[s].get(), std::span<const int32_t>(&next[s], 1), true};
            const std::span<const int32_t> picked = evaluator.evaluate_greedy(items);
            std::copy(picked.begin(), picked.end(), next.begin());
        }
        tg->tok_s.push_back(static_cast<double>(sequences * gen_tokens) / seconds_since(start));
        for (size_t s = 0; s < n; ++s) sessions[s]->truncate(depth);
    }
}

std::string json_array(const std::vector<double>& v) {
    std::string out = "[";
    for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + json_number(v[i]);
    return out + "]";
}

}  // namespace

int cmd_bench(const Args& args) {
    Flags flags("apr bench",
                "[MODEL] [--prompt-tokens N] [--gen-tokens N] [--depth D[,D...]] [--sequences B[,B...]]\n"
                "       [--repetitions R] [--batch-size N] [--json] [--assert-min-tok-s X] [options]",
                "Measure prompt processing (ppN) and generation (tgN) speed in tokens per second, with D tokens\n"
                "already in the KV cache for each --depth (like llama-bench -p, -n, -d, -r). --sequences B adds\n"
                "tgN xB: B sequences, each with its own D tokens, decoding together in one batched pass per step\n"
                "(as apr serve --parallel does; like llama-batched-bench), their summed tok/s. Each test runs R\n"
                "times; the median and the spread are reported. --assert-min-tok-s exits with status 3 when a\n"
                "test's median is below the floor (for CI). MODEL defaults to the bundled model.");
    int64_t prompt_tokens = 512, gen_tokens = 128, threads = 0, repetitions = 3;
    // llama-bench's default micro-batch (-ub 512): its pp512 is one forward
    // pass, so ours is too (a session's default, 256, made it two: 18.0k
    // against 27.1k tok/s on an H200).
    int64_t batch_size = 512;
    std::string depth_text = "0", sequences_text = "1";
    bool json = false;
    std::optional<double> min_tok_s;
    SessionFlags session_flags;
    DeviceFlags device_flags;
    flags.add("--prompt-tokens", &prompt_tokens, "prompt tokens evaluated in one call per depth (0 = skip)");
    flags.add("--gen-tokens", &gen_tokens, "tokens generated one at a time per depth (0 = skip)");
    flags.add("--depth", &depth_text, "tokens already in the cache, comma separated", "D[,D...]");
    flags.add("--sequences", &sequences_text,
              "sequences decoding together in one batched pass per step (tgN xB: their summed tok/s), comma separated",
              "B[,B...]");
    flags.add("--repetitions", &repetitions, "runs of each test; the median and spread are reported", "R");
    flags.add("--json", &json, "print one JSON object instead of the table");
    flags.add("--assert-min-tok-s", &min_tok_s, "exit with status 3 if any test's median tok/s is below X");
    flags.add("--threads", &threads, "CPU threads (0 = all)");
    flags.add("--batch-size", &batch_size, "most prompt tokens in one forward pass (llama-bench's -ub; default 512)", "N");
    session_flags.add_to(flags);
    add_device_flags(flags, &device_flags);
    const std::vector<std::string> positional = flags.parse(args);
    if (positional.size() > 1) throw UsageError("expected at most one MODEL");
    if (prompt_tokens < 0) throw UsageError("--prompt-tokens must be >= 0");
    if (gen_tokens < 0) throw UsageError("--gen-tokens must be >= 0");
    if (prompt_tokens == 0 && gen_tokens == 0) throw UsageError("nothing to measure: --prompt-tokens and --gen-tokens are 0");
    if (repetitions < 1 || repetitions > 1000) throw UsageError("--repetitions must be 1..1000");
    if (min_tok_s && !(*min_tok_s > 0 && std::isfinite(*min_tok_s)))
        throw UsageError("--assert-min-tok-s must be a positive number of tokens per second");
    if (threads < 0 || threads > 4096) throw UsageError("--threads must be 0..4096");
    if (batch_size < 1 || batch_size > 65536) throw UsageError("--batch-size must be 1..65536");
    session_flags.validate();
    SessionParams session_params = session_flags.params();
    session_params.batch_size = batch_size;
    const std::vector<int64_t> depths = parse_list(depth_text, "--depth", 0);
    const std::vector<int64_t> sequence_counts = parse_list(sequences_text, "--sequences", 1);
    const int64_t most_sequences = *std::max_element(sequence_counts.begin(), sequence_counts.end());
    if (most_sequences > 1024) throw UsageError("--sequences must be 1..1024");
    if (most_sequences > 1 && gen_tokens == 0) throw UsageError("--sequences above 1 needs --gen-tokens above 0");
    const std::string path = positional.empty() ? default_model_path() : positional[0];

    ModelParams mp;
    mp.threads = static_cast<int>(threads);
    apply_device_flags(device_flags, mp);
    auto model = Model::load(path, mp);
    Session session(*model, session_params);
    for (int64_t d : depths) {
        const int64_t needed = d + std::max(prompt_tokens, gen_tokens);
        if (needed > session.context_length())
            throw UsageError(fmt::format("--depth {} + {} tokens needs {} positions but the context size is {} (see --ctx-size)",
                                         d, std::max(prompt_tokens, gen_tokens), needed, session.context_length()));
    }
    if (!json) {
        fmt::print("model {}\nthreads {}, kv cache {}, context {}, {} repetition{}\n\n", path, model->threads(),
                   kv_cache_type_name(session.kv_cache_type()), session.context_length(), repetitions,
                   repetitions == 1 ? "" : "s");
        fmt::print("| {:<18} | {:>18} |\n|{:-<20}|{:->20}|\n", "test", "tok/s", "", ":");
    }
    TokenStream ids(model->config().vocab_size);
    {
        // Warm-up (untimed): a prompt and one token, like llama-bench's warm-up run.
        if (prompt_tokens > 0) {
            session.evaluate(ids.take(prompt_tokens));
            session.reset();
        }
        const std::vector<int32_t> one = ids.take(1);
        session.evaluate(one);
        session.reset();
    }
    // The batched tests' sessions and their evaluator.
    std::vector<std::unique_ptr<Session>> batch_sessions;
    std::optional<BatchEvaluator> evaluator;
    if (most_sequences > 1) {
        for (int64_t s = 0; s < most_sequences; ++s) batch_sessions.push_back(std::make_unique<Session>(*model, session_params));
        evaluator.emplace(*model, most_sequences);
    }
    const bool single = std::find(sequence_counts.begin(), sequence_counts.end(), 1) != sequence_counts.end();
    std::vector<TestResult> results;
    auto report = [&](const TestResult& t) {
        if (!json) {
            fmt::print("| {:<18} | {:>18} |\n", t.name(), fmt::format("{:.2f} ± {:.2f}", t.median(), t.stddev()));
            std::fflush(stdout);
        }
        results.push_back(t);
    };
    for (int64_t d : depths) {
        TestResult pp{"pp", prompt_tokens, d, 1, {}}, tg{"tg", single ? gen_tokens : 0, d, 1, {}};
        bench_depth(session, ids, d, prompt_tokens, tg.tokens, repetitions, &pp, &tg);
        for (const TestResult* t : {&pp, &tg})
            if (t->tokens > 0) report(*t);
        for (int64_t b : sequence_counts) {
            if (b == 1) continue;
            TestResult batched{"tg", gen_tokens, d, b, {}};
            bench_batched(batch_sessions, *evaluator, ids, d, gen_tokens, repetitions, b, &batched);
            report(batched);
        }
        for (auto& s : batch_sessions) s->reset();  // the next depth refills them
    }
    if (json) {
        std::string out = "{\n";
        out += fmt::format("  \"model\": {},\n  \"build\": {},\n  \"threads\": {},\n  \"kv_cache\": {},\n  \"context\": {},\n"
                           "  \"repetitions\": {},\n  \"results\": [",
                           json_string(path), json_string(build_info()), model->threads(),
                           json_string(kv_cache_type_name(session.kv_cache_type())), session.context_length(), repetitions);
        for (size_t i = 0; i < results.size(); ++i) {
            const TestResult& t = results[i];
            out += fmt::format(
                "{}\n    {{\"test\": {}, \"kind\": \"{}\", \"tokens\": {}, \"depth\": {}, \"sequences\": {}, \"tok_s_median\": {}, "
                "\"tok_s_mean\": {}, \"tok_s_stddev\": {}, \"tok_s_min\": {}, \"tok_s_max\": {}, \"tok_s\": {}}}",
                i ? "," : "", json_string(t.name()), t.kind, t.tokens, t.depth, t.sequences, json_number(t.median()),
                json_number(t.mean()), json_number(t.stddev()), json_number(t.min()), json_number(t.max()),
                json_array(t.tok_s));
        }
        out += "\n  ]\n}\n";
        fmt::print("{}", out);
        std::fflush(stdout);
    }
    if (min_tok_s) {
        int below = 0;
        for (const TestResult& t : results)
            if (t.median() < *min_tok_s) {
                fmt::print(stderr, "apr bench: {}: median {:.2f} tok/s is below --assert-min-tok-s {}\n", t.name(),
                           t.median(), *min_tok_s);
                ++below;
            }
        if (below > 0) return 3;
    }
    return 0;
}

}  // namespace apr::cli
