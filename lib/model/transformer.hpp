// The forward pass of the Llama family (Qwen2 adds q/k/v biases), written
// once against the Backend interface. A batch is any set of tokens, each with
// its own position and sequence (KV cache), so prompt processing, decoding
// and (later) continuous batching of several sessions share this code.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "apr/model.hpp"
#include "model/backend.hpp"
#include "model/weights.hpp"

namespace apr::model {

struct Batch {
    std::span<const int32_t> tokens;
    std::span<const int32_t> positions;  // one per token
    std::span<const SeqSlice> seqs;      // which rows belong to which cache
    std::span<const int32_t> logit_rows; // rows whose logits are wanted, in output order
};

// Activation buffers for batches of up to `capacity` tokens, allocated once
// per session so a forward pass allocates nothing; one set per stage of the
// model, in its backend's memory (the LM head's only in the last stage's).
struct ForwardBuffers {
    ForwardBuffers(const ModelWeights& weights, const ModelConfig& config, int64_t capacity);
    int64_t capacity;
    // Rows of logits computed per LM-head pass: a few, not `capacity`, so a
    // 150k-token vocabulary does not cost capacity x vocab floats.
    int64_t logit_capacity;
    struct Set {
        std::unique_ptr<Buffer> memory;  // the stage's one allocation; the buffers below are slices of it
        std::unique_ptr<Buffer> x, xn, q, k, v, attn, tmp, gate, up, selected, logits;
    };
    std::vector<Set> stages;
    std::vector<float> handoff;  // the hidden state between stages when it passes through the host
};

// The KV cache of one sequence of a model split into stages: one paged
// cache per stage, in its backend's memory, holding that stage's layers
// (layer i of the model is layer i - first_layer of its stage's cache). All
// parts hold blocks for the same positions. SeqSlices of a split model name
// one of these.
class StagedKVCache final : public KVCache {
public:
    explicit StagedKVCache(std::vector<std::unique_ptr<KVCache>> parts);
    int64_t capacity() const override { return parts_.front()->capacity(); }
    // The parts' layout with every stage's layers counted.
    const KVLayout& layout() const override { return layout_; }
    // Every part, or (on failure) none: parts already resized go back.
    void resize(int64_t positions) override;
    int64_t held_positions() const override { return parts_.front()->held_positions(); }
    int64_t bytes() const override;
    KVCache* part(size_t stage) const { return parts_[stage].get(); }

private:
    std::vector<std::unique_ptr<KVCache>> parts_;
    KVLayout layout_;
};

// A sequence's cache for a model: its backend's own cache, or a
// StagedKVCache when the model is split.
std::unique_ptr<KVCache> make_kv_cache(const ModelWeights& weights, const ModelConfig& config, int64_t capacity,
                                       KVCacheType type);

// Runs one batch; writes logit_rows.size() rows of vocab_size floats to
// `logits_host`, or, when `argmax_host` is given instead (logits_host null),
// one id per logit row: the index of its largest logit (the first on ties),
// reduced by the backend so a GPU sends only the ids. Callers validate ids,
// positions and batch size first.
void forward(const ModelConfig& config, const ModelWeights& weights, ForwardBuffers& buffers, const Batch& batch,
             Observer* observer, float* logits_host, int32_t* argmax_host = nullptr);

}  // namespace apr::model
