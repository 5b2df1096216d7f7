// A Session is one conversation with a Model: its KV cache and position.
// Tokens are appended with evaluate(); generation (apr/generate.hpp) builds
// on it. Thread-safety: one thread at a time per Session; many Sessions may
// share a Model.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "apr/export.hpp"
#include "apr/model.hpp"

namespace apr {

// How the KV cache stores keys and values. Bytes per position and layer:
// 2 * kv_heads * head_dim * {4 (f32), 2 (f16), 34/32 (q8_0)}.
enum class KVCacheType { f16, f32, q8_0 };
// "f16", "f32", "q8_0".
APR_API std::string_view kv_cache_type_name(KVCacheType type) noexcept;
// Bytes per cached key or value element: 4, 2, 34/32 (scale per 32 values).
APR_API double kv_cache_value_bytes(KVCacheType type) noexcept;
// Parses a name as kv_cache_type_name writes it; nullopt for anything else.
APR_API std::optional<KVCacheType> kv_cache_type_from_name(std::string_view name) noexcept;
// The cache type a session gets when SessionParams::kv_cache_type is unset:
// f32 for full-precision weights (every matmul weight F32, F16 or BF16), so
// log-probabilities follow Hugging Face's float32 reference; f16 for
// quantized weights, as llama.cpp does.
APR_API KVCacheType default_kv_cache_type(const Model& model);

struct SessionParams {
    // KV-cache positions; 0 = the model's trained context (ModelConfig::
    // context_length). More than the trained context is an error naming both.
    // Memory is taken in blocks as positions fill, so a long window costs
    // only what the session holds.
    int64_t context_length = 0;
    // Unset: default_kv_cache_type(model).
    std::optional<KVCacheType> kv_cache_type;
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
    KVCacheType kv_cache_type() const;
    // Tokens currently held in the KV cache (the next token's position).
    int64_t position() const;
    // Forgets everything (position 0) and gives back every cache block.
    void reset();
    // Keeps the first `length` positions (length <= position()); cache blocks
    // past them go back to the model's pool.
    void truncate(int64_t length);
    // Makes this session hold the first `length` positions of `other` (a
    // session of the same model and KV-cache type, length <= its position()),
    // as if it had evaluated the same tokens: their keys and values are
    // copied, bit for bit what evaluating them would give. What it held
    // before is dropped. Returns false, leaving the session unchanged, where
    // the backend cannot copy caches (GPU or split models: evaluate the
    // tokens instead). A server uses it to reuse a prefix another slot holds.
    bool copy_prefix_from(const Session& other, int64_t length);
    // Bytes of KV-cache memory the session holds now: whole blocks of
    // 256 positions (docs/architecture.md), so it follows position().
    int64_t kv_cache_bytes() const;

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
