// The generation loop: prompt in batches, then sample / stream / evaluate
// one token at a time.
#include "apr/generate.hpp"

#include <algorithm>
#include <chrono>

#include "core/fail.hpp"
#include "model/model_impl.hpp"
#include "model/text_output.hpp"
#include "model/tokenizer_bridge.hpp"

namespace apr {

std::string_view finish_reason_name(FinishReason reason) noexcept {
    switch (reason) {
        case FinishReason::stop: return "stop";
        case FinishReason::length: return "length";
        case FinishReason::cancelled: return "cancelled";
    }
    return "unknown";
}

namespace {
double ms_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}
}  // namespace

GenerateResult generate(Session& session, std::span<const int32_t> prompt, const GenerateParams& params,
                        const TokenCallback& on_token) {
    validate(params.sampling);
    if (params.max_tokens < 0) fail(ErrorCode::invalid_argument, "generate: max_tokens = {} (must be >= 0)", params.max_tokens);
    if (params.logprobs < 0) fail(ErrorCode::invalid_argument, "generate: logprobs = {} (must be >= 0)", params.logprobs);
    if (prompt.empty()) fail(ErrorCode::invalid_argument, "generate: the prompt has no tokens");
    const auto prompt_tokens = static_cast<int64_t>(prompt.size());
    if (session.position() + prompt_tokens > session.context_length()) {
        if (session.position() == 0)
            fail(ErrorCode::context_overflow, "the prompt has {} tokens but the context size is {} (see --ctx-size)",
                 prompt_tokens, session.context_length());
        fail(ErrorCode::context_overflow,
             "the prompt has {} tokens but only {} of the context size {} are free ({} already in the session)",
             prompt_tokens, session.context_length() - session.position(), session.context_length(), session.position());
    }
    const Model& model = session.model();
    std::vector<int32_t> ends = params.stop_token_ids.empty() ? model.end_token_ids() : params.stop_token_ids;
    std::sort(ends.begin(), ends.end());

    Sampler sampler(params.sampling);
    for (int32_t t : prompt) sampler.accept(t);
    model::TextOutput text = model::make_text_output(model, params.stop_strings);

    GenerateResult result;
    result.prompt_tokens = static_cast<int64_t>(prompt.size());
    // The observer (if any) hears which phase the forward passes belong to
    // and each sampling step; without one nothing here reads a clock twice.
    Observer* observer = session.observer();
    if (observer != nullptr) observer->on_phase(GenerationPhase::prompt);
    auto stop_requested = [&] {
        return (params.cancel != nullptr && params.cancel->load(std::memory_order_acquire)) ||
               (params.should_stop && params.should_stop());
    };
    if (stop_requested()) {
        result.finish_reason = FinishReason::cancelled;
        return result;
    }
    const int64_t start = session.position();
    const auto n_prompt = static_cast<int64_t>(prompt.size());
    if (start + n_prompt > session.context_length())
        fail(ErrorCode::context_overflow, "context overflow: {} tokens in the session + {} new > context length {}",
             start, n_prompt, session.context_length());
    // The prompt in the session's batches, so a stop request is seen between
    // them; stopped (or failed) part way, the session goes back to `start`.
    const auto prompt_start = std::chrono::steady_clock::now();
    std::span<const float> logits;
    const int64_t batch = std::max<int64_t>(1, session.impl().batch_size);
    try {
        for (int64_t done = 0; done < n_prompt;) {
            const int64_t count = std::min(batch, n_prompt - done);
            logits = session.evaluate(prompt.subspan(static_cast<size_t>(done), static_cast<size_t>(count)));
            done += count;
            if (done < n_prompt && stop_requested()) {
                session.truncate(start);
                result.finish_reason = FinishReason::cancelled;
                result.prompt_ms = ms_since(prompt_start);
                return result;
            }
        }
    } catch (...) {
        if (session.position() > start) session.truncate(start);
        throw;
    }
    result.prompt_ms = ms_since(prompt_start);

    if (observer != nullptr) observer->on_phase(GenerationPhase::decode);
    const auto gen_start = std::chrono::steady_clock::now();
    result.tokens.reserve(static_cast<size_t>(std::min<int64_t>(params.max_tokens, 4096)));
    StepLogprobs step;
    // Greedy decoding that needs nothing but the id (no penalties, log-probs
    // or observer) takes the backend's argmax: on a GPU only the id crosses.
    const bool argmax_only = sampler.picks_argmax() && params.logprobs == 0 && observer == nullptr;
    int32_t next = -1;  // the argmax of the last step, when argmax_only
    for (int64_t i = 0; i < params.max_tokens; ++i) {
        if (stop_requested()) {
            result.finish_reason = FinishReason::cancelled;
            break;
        }
        int32_t id;
        if (next >= 0) {
            id = next;
        } else if (observer == nullptr) {
            id = sampler.sample(logits);
        } else {
            const auto sample_start = std::chrono::steady_clock::now();
            id = sampler.sample(logits);
            observer->on_sample(SampleEvent{i, id, logits.data(), static_cast<int64_t>(logits.size()), ms_since(sample_start)});
        }
        if (params.logprobs > 0) {
            step = StepLogprobs{id, logprob_of(logits, id), top_logprobs(logits, params.logprobs)};
            result.logprobs.push_back(step);
        }
        result.tokens.push_back(id);
        sampler.accept(id);

        const bool is_end = std::binary_search(ends.begin(), ends.end(), id);
        std::string piece = is_end ? std::string() : std::string(text.push(id));
        bool finished = true;
        if (is_end || text.stopped()) {
            result.finish_reason = FinishReason::stop;
        } else if (i + 1 == params.max_tokens) {
            result.finish_reason = FinishReason::length;
        } else if (session.position() >= session.context_length()) {
            result.finish_reason = FinishReason::length;
            result.context_full = true;
        } else {
            finished = false;
        }
        if (finished && !text.stopped()) piece += text.finish();
        if (on_token) {
            const GeneratedToken event{id, piece, is_end, params.logprobs > 0 ? &step : nullptr};
            if (!on_token(event)) {
                if (!finished) result.finish_reason = FinishReason::cancelled;
                break;
            }
        }
        if (finished) break;
        if (argmax_only) next = session.evaluate_greedy(std::span<const int32_t>(&id, 1));
        else logits = session.evaluate(std::span<const int32_t>(&id, 1));
    }
    if (params.max_tokens == 0) result.finish_reason = FinishReason::length;
    text.finish();  // cancelled runs keep the text held back so far
    result.text = text.text();
    result.completion_tokens = static_cast<int64_t>(result.tokens.size());
    result.generation_ms = ms_since(gen_start);
    return result;
}

GenerateResult generate(Session& session, std::string_view prompt, const GenerateParams& params,
                        const TokenCallback& on_token) {
    const auto start = std::chrono::steady_clock::now();
    const std::vector<int32_t> ids =
        model::encode_prompt(session.model(), prompt, params.parse_special, session.position() == 0);
    if (Observer* observer = session.observer(); observer != nullptr)
        observer->on_tokenize(TokenizeEvent{prompt.size(), static_cast<int64_t>(ids.size()), ms_since(start)});
    return generate(session, ids, params, on_token);
}

}  // namespace apr
