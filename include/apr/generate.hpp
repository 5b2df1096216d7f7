// Generation: evaluate a prompt in batches, then sample token by token,
// streaming each token through a callback until an end token, a stop string,
// max_tokens, or cancellation.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "apr/export.hpp"
#include "apr/sampling.hpp"
#include "apr/session.hpp"

namespace apr {

enum class FinishReason { stop, length, cancelled };
APR_API std::string_view finish_reason_name(FinishReason reason) noexcept;  // "stop", "length", "cancelled"

struct GenerateParams {
    int64_t max_tokens = 256;
    SamplingParams sampling;               // default: greedy
    std::vector<int32_t> stop_token_ids;   // empty: the model's end_token_ids()
    std::vector<std::string> stop_strings; // generation stops when the text contains one (removed from the text)
    int64_t logprobs = 0;                  // report the top-k log-probabilities of each step; 0 = off
    // Set to true (from any thread) to stop. Checked, like should_stop, before
    // the prompt (already set: returns at once, the session untouched), between
    // prompt batches (the session then goes back to where it was) and before
    // every generated token.
    const std::atomic<bool>* cancel = nullptr;
    std::function<bool()> should_stop;  // may be empty; true stops
    // The text prompt overload: parse special tokens written in the prompt
    // ("<|im_start|>") as special tokens.
    bool parse_special = true;
};

struct StepLogprobs {
    int32_t id;
    float logprob;                       // of the chosen token, log-softmax of the raw logits
    std::vector<TokenLogprob> top;       // the k most likely, best first
};

// One generated token as the callback sees it.
struct GeneratedToken {
    int32_t id;
    std::string_view text;  // text this token completes (whole UTF-8 only; empty for control tokens, held-back text)
    bool is_end;            // an end token (not part of the text)
    const StepLogprobs* logprobs;  // null unless params.logprobs > 0
};
// Return false to stop generating (finish_reason = cancelled).
using TokenCallback = std::function<bool(const GeneratedToken&)>;

struct GenerateResult {
    std::vector<int32_t> tokens;   // generated ids, including the end token when one stopped generation
    std::string text;              // their text without end/control tokens, cut before a stop string
    FinishReason finish_reason = FinishReason::length;
    // finish_reason is `length` because the session's context is full (the
    // last token could not be appended), not because of max_tokens.
    bool context_full = false;
    int64_t prompt_tokens = 0;
    int64_t completion_tokens = 0;  // == tokens.size()
    double prompt_ms = 0;
    double generation_ms = 0;
    std::vector<StepLogprobs> logprobs;  // one per generated token when params.logprobs > 0
};

// Appends `prompt` to the session (after whatever it already holds), then
// generates. Throws apr::Error(context_overflow) if the prompt does not fit;
// generation that reaches the end of the context stops with "length".
APR_API GenerateResult generate(Session& session, std::span<const int32_t> prompt, const GenerateParams& params,
                                const TokenCallback& on_token = {});
// Same, tokenizing `prompt` with the model's tokenizer; BOS is prepended only
// when the tokenizer asks for it (Qwen2.5 does not) and the session is empty.
APR_API GenerateResult generate(Session& session, std::string_view prompt, const GenerateParams& params,
                                const TokenCallback& on_token = {});

}  // namespace apr
