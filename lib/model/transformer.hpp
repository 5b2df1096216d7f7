// The forward pass of the Llama family (Qwen2 adds q/k/v biases), written
// once against the Backend interface. A batch is any set of tokens, each with
// its own position and sequence (KV cache), so prompt processing, decoding
// and (later) continuous batching of several sessions share this code.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

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
// per session so a forward pass allocates nothing.
struct ForwardBuffers {
    ForwardBuffers(Backend& backend, const ModelConfig& config, int64_t capacity);
    int64_t capacity;
    // Rows of logits computed per LM-head pass: a few, not `capacity`, so a
    // 150k-token vocabulary does not cost capacity x vocab floats.
    int64_t logit_capacity;
    std::unique_ptr<Buffer> x, xn, q, k, v, attn, tmp, gate, up, selected, logits;
};

// Runs one batch; writes logit_rows.size() rows of vocab_size floats to
// `logits_host`. Callers validate ids, positions and batch size first.
void forward(Backend& backend, const ModelConfig& config, const ModelWeights& weights, ForwardBuffers& buffers,
             const Batch& batch, Observer* observer, float* logits_host);

}  // namespace apr::model
