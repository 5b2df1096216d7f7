// Batched evaluation of several sessions in one forward pass, several tokens
// per session: what a continuous-batching scheduler needs, where each step
// mixes prompt chunks (many tokens of one sequence) with decode rows (one
// token of each other sequence). The weights stream through the caches once
// for the whole batch instead of once per session.
//
// Thread-safety: a BatchEvaluator is used by one thread at a time, and the
// sessions it evaluates must not be used by another thread meanwhile.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "apr/export.hpp"
#include "apr/model.hpp"
#include "apr/session.hpp"

namespace apr {

// `tokens` go at `session`'s next positions; the logits after the last one
// are returned (when `want_logits`; a prompt chunk that does not end the
// prompt needs none).
struct BatchItem {
    Session* session = nullptr;
    std::span<const int32_t> tokens;
    bool want_logits = true;
};

class APR_API BatchEvaluator {
public:
    // Batches of up to `max_tokens` tokens in total (the sum over items).
    BatchEvaluator(const Model& model, int64_t max_tokens);
    ~BatchEvaluator();
    BatchEvaluator(const BatchEvaluator&) = delete;
    BatchEvaluator& operator=(const BatchEvaluator&) = delete;

    int64_t max_tokens() const;

    // Evaluates every item in one forward pass and returns one row of
    // vocab_size logits per item with want_logits, in item order (valid until
    // the next call). Items must name distinct sessions of this model, each
    // with at least one token and room for them; otherwise apr::Error
    // (invalid_argument / context_overflow) and no session changes. Row i
    // equals what the session's own evaluate(tokens) would return.
    std::span<const float> evaluate(std::span<const BatchItem> items);
    // Same, but returns for each item with want_logits only the id of its
    // largest logit (the first on ties), what a greedy Sampler without
    // penalties picks, in item order (valid until the next call). On a GPU
    // the argmax runs on the device and only the ids cross to the host;
    // logits evaluate() returned before are not updated.
    std::span<const int32_t> evaluate_greedy(std::span<const BatchItem> items);

    struct Impl;

private:
    void run(std::span<const BatchItem> items, bool greedy);
    std::unique_ptr<Impl> impl_;
};

}  // namespace apr
