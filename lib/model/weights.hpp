// The tensors of a Llama-family model (Qwen2, Llama) looked up by canonical
// name, checked against the config's shapes, and bound to a backend.
#pragma once

#include <functional>

#include <vector>

#include "apr/model_config.hpp"
#include "apr/model_file.hpp"
#include "model/backend.hpp"

namespace apr::model {

// Largest head dimension the kernels' stack buffers allow.
constexpr int64_t kMaxHeadDim = 1024;

struct LayerWeights {
    Weight attn_norm;
    Weight wq, wk, wv, wo;
    Weight bq, bk, bv;  // empty unless the model has attention biases
    Weight ffn_norm;
    Weight w_gate, w_up, w_down;
};

struct ModelWeights {
    Weight token_embd;
    std::vector<LayerWeights> layers;
    Weight output_norm;
    Weight output;  // the LM head; token_embd when embeddings are tied
    RopeStyle rope_style = RopeStyle::neox;
};

// Validates the config (head counts, sizes) and every tensor's presence,
// type and shape; throws apr::Error naming the file and tensor at fault.
void validate_config(const ModelConfig& config, const std::string& source);
// `progress` (may be empty) hears after each layer how many of the layers
// are bound; returning false stops with apr::Error(cancelled).
ModelWeights bind_weights(const ModelFile& file, const ModelConfig& config, Backend& backend,
                          const std::function<bool(int64_t done, int64_t total)>& progress = {});
// Whether every matmul weight (the LM head included) is F32, F16 or BF16.
bool full_precision(const ModelWeights& weights);

}  // namespace apr::model
