// A Session is one conversation with a Model: its KV cache and position.
// Tokens are appended with evaluate(); generation (apr/generate.hpp) builds
// on it. Thread-safety: one thread at a time per Session; many Sessions may
// share a Model.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "apr/export.hpp"
#include "apr/model.hpp"

namespace apr {

enum class KVCacheType { f16, f32 };

struct SessionParams {
    // KV-cache positions; 0 = the model's trained context, capped at 4096.
    int64_t context_length = 0;
    // f16 halves the cache and matches llama.cpp's default numerics.
    KVCacheType kv_cache_type = KVCacheType::f16;
    // Most tokens in one forward pass; longer prompts run in several passes.
    int64_t batch_size = 256;
    // Sees every op and layer of every forward pass; not owned; may be null.
    Observer* observer = nullptr;
};

namespace model {
struct SessionImpl;
}

class APR_API Session {
public:
    explicit Session(const Model& model, const SessionParams& params = {});
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    const Model& model() const;
    int64_t context_length() const;
    // Tokens currently held in the KV cache (the next token's position).
    int64_t position() const;
    // Forgets everything (position 0).
    void reset();
    // Keeps the first `length` positions (length <= position()).
    void truncate(int64_t length);

    // Appends `tokens` at the next positions and returns the logits that
    // follow the last one (vocab_size floats, valid until the next call).
    // Throws apr::Error(context_overflow) when they do not fit, leaving the
    // session unchanged; (invalid_argument) for ids outside the vocabulary.
    std::span<const float> evaluate(std::span<const int32_t> tokens);
    // Same, but returns only the id of the largest logit after the last
    // token (the first on ties): what a greedy Sampler without penalties
    // picks. On a GPU the argmax runs on the device and only the id crosses
    // to the host. The logits evaluate() returned before are not updated.
    int32_t evaluate_greedy(std::span<const int32_t> tokens);
    // Same as evaluate, but returns the logits after every token: tokens.size() rows of
    // vocab_size floats.
    std::vector<float> evaluate_all(std::span<const int32_t> tokens);

    void set_observer(Observer* observer);
    // The attached observer (null when none); generate() reports its stages to it.
    Observer* observer() const;

    model::SessionImpl& impl() const { return *impl_; }

private:
    std::unique_ptr<model::SessionImpl> impl_;
};

// Continuous batching: appends tokens[i] to sessions[i] for every i in ONE
// forward pass (weights stream once for the whole batch) and returns the
// logits, one row of vocab_size floats per session, in order. The sessions
// must be distinct, share one Model, and each have room for one more token;
// otherwise apr::Error(invalid_argument / context_overflow) and no session
// changes. Row i equals what sessions[i]->evaluate({tokens[i]}) returns.
// The first session's observer (if any) sees the batch.
APR_API std::vector<float> evaluate_batch(std::span<Session* const> sessions, std::span<const int32_t> tokens);

}  // namespace apr
