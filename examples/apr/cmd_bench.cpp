// apr bench [MODEL] [--prompt-tokens N] [--gen-tokens N] [--depth D[,D...]]:
// prompt-processing and generation speed, like llama-bench (-p, -n, -d).
// For each depth D the session is first filled with D tokens (not timed);
// then N prompt tokens are evaluated in one call (timed: ppN @ dD), the
// cache is cut back to D, and M tokens are evaluated one at a time (timed:
// tgM @ dD). The token ids are seeded pseudo-random ids, as llama-bench
// uses; speed does not depend on them.
#include <fmt/core.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "apr/error.hpp"
#include "apr/model.hpp"
#include "apr/session.hpp"
#include "commands.hpp"
#include "device_flags.hpp"
#include "flags.hpp"
#include "session_flags.hpp"

namespace apr::cli {
namespace {

// "0,4096,16384" -> {0, 4096, 16384}.
std::vector<int64_t> parse_depths(const std::string& text) {
    std::vector<int64_t> out;
    size_t start = 0;
    while (start <= text.size()) {
        const size_t comma = std::min(text.find(',', start), text.size());
        const std::string item = text.substr(start, comma - start);
        try {
            size_t used = 0;
            const long long v = std::stoll(item, &used);
            if (used != item.size() || v < 0) throw std::invalid_argument(item);
            out.push_back(v);
        } catch (const std::exception&) {
            throw UsageError(fmt::format("--depth expects non-negative integers separated by commas, got '{}'", text));
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

struct DepthResult {
    double prompt_tok_s = 0;  // 0 when no prompt tokens were asked for
    double gen_tok_s = 0;
};

DepthResult bench_depth(Session& session, TokenStream& ids, int64_t depth, int64_t prompt_tokens, int64_t gen_tokens) {
    DepthResult r;
    session.reset();
    if (depth > 0) session.evaluate(ids.take(depth));
    if (prompt_tokens > 0) {
        const std::vector<int32_t> prompt = ids.take(prompt_tokens);
        const auto start = std::chrono::steady_clock::now();
        session.evaluate(prompt);
        r.prompt_tok_s = static_cast<double>(prompt_tokens) / seconds_since(start);
        session.truncate(depth);
    }
    if (gen_tokens > 0) {
        const std::vector<int32_t> gen = ids.take(gen_tokens);
        const auto start = std::chrono::steady_clock::now();
        // As greedy decoding runs a step: only the argmax id comes back (on a
        // GPU the logits stay on the device).
        for (int32_t id : gen) session.evaluate_greedy(std::span<const int32_t>(&id, 1));
        r.gen_tok_s = static_cast<double>(gen_tokens) / seconds_since(start);
    }
    return r;
}

}  // namespace

int cmd_bench(const Args& args) {
    Flags flags("apr bench", "[MODEL] [--prompt-tokens N] [--gen-tokens N] [--depth D[,D...]] [options]",
                "Measure prompt processing (ppN) and generation (tgN) speed in tokens per second, with D tokens\n"
                "already in the KV cache for each --depth (like llama-bench -p, -n, -d). MODEL defaults to the\n"
                "bundled model.");
    int64_t prompt_tokens = 512, gen_tokens = 128, threads = 0;
    std::string depth_text = "0";
    SessionFlags session_flags;
    DeviceFlags device_flags;
    flags.add("--prompt-tokens", &prompt_tokens, "prompt tokens evaluated in one call per depth (0 = skip)");
    flags.add("--gen-tokens", &gen_tokens, "tokens generated one at a time per depth (0 = skip)");
    flags.add("--depth", &depth_text, "tokens already in the cache, comma separated", "D[,D...]");
    flags.add("--threads", &threads, "CPU threads (0 = all)");
    session_flags.add_to(flags);
    add_device_flags(flags, &device_flags);
    const std::vector<std::string> positional = flags.parse(args);
    if (positional.size() > 1) throw UsageError("expected at most one MODEL");
    if (prompt_tokens < 0) throw UsageError("--prompt-tokens must be >= 0");
    if (gen_tokens < 0) throw UsageError("--gen-tokens must be >= 0");
    if (prompt_tokens == 0 && gen_tokens == 0) throw UsageError("nothing to measure: --prompt-tokens and --gen-tokens are 0");
    if (threads < 0 || threads > 4096) throw UsageError("--threads must be 0..4096");
    session_flags.validate();
    const std::vector<int64_t> depths = parse_depths(depth_text);
    const std::string path = positional.empty() ? default_model_path() : positional[0];

    ModelParams mp;
    mp.threads = static_cast<int>(threads);
    apply_device_flags(device_flags, mp);
    auto model = Model::load(path, mp);
    Session session(*model, session_flags.params());
    for (int64_t d : depths) {
        const int64_t needed = d + std::max(prompt_tokens, gen_tokens);
        if (needed > session.context_length())
            throw UsageError(fmt::format("--depth {} + {} tokens needs {} positions but the context size is {} (see --ctx-size)",
                                         d, std::max(prompt_tokens, gen_tokens), needed, session.context_length()));
    }
    fmt::print("model {}\nthreads {}, kv cache {}, context {}\n\n", path, model->threads(),
               kv_cache_type_name(session.kv_cache_type()), session.context_length());
    fmt::print("| {:<18} | {:>10} |\n|{:-<20}|{:->12}|\n", "test", "tok/s", "", ":");
    TokenStream ids(model->config().vocab_size);
    for (int64_t d : depths) {
        const DepthResult r = bench_depth(session, ids, d, prompt_tokens, gen_tokens);
        if (prompt_tokens > 0)
            fmt::print("| {:<18} | {:>10.2f} |\n", fmt::format("pp{} @ d{}", prompt_tokens, d), r.prompt_tok_s);
        if (gen_tokens > 0) fmt::print("| {:<18} | {:>10.2f} |\n", fmt::format("tg{} @ d{}", gen_tokens, d), r.gen_tok_s);
        std::fflush(stdout);
    }
    return 0;
}

}  // namespace apr::cli
