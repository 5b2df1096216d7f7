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

// Layers [first_layer, end_layer) computed by one backend. A model runs as
// one stage (every layer on one backend) or, split between the CPU and a GPU
// (ModelParams::gpu_layers), as two: the embedding and the first layers on
// the CPU, the last layers, the final norm and the LM head on the GPU.
struct Stage {
    Backend* backend;
    int first_layer;
    int end_layer;
};

struct ModelWeights {
    Weight token_embd;  // bound to the first stage's backend
    std::vector<LayerWeights> layers;  // each bound to its stage's backend
    Weight output_norm;  // this and output: the last stage's backend
    Weight output;  // the LM head; token_embd when embeddings are tied (bound again when split)
    RopeStyle rope_style = RopeStyle::neox;
    std::vector<Stage> stages;  // at least one, covering every layer in order
};

// Validates the config (head counts, sizes) and every tensor's presence,
// type and shape; throws apr::Error naming the file and tensor at fault.
void validate_config(const ModelConfig& config, const std::string& source);
// `progress` (may be empty) hears after each layer how many of the layers
// are bound; returning false stops with apr::Error(cancelled).
ModelWeights bind_weights(const ModelFile& file, const ModelConfig& config, Backend& backend,
                          const std::function<bool(int64_t done, int64_t total)>& progress = {});
// Split: layers [0, split) and the embedding on `first`, the rest, the final
// norm and the LM head on `second` (0 <= split <= num_layers; an empty
// stage is left out).
ModelWeights bind_weights(const ModelFile& file, const ModelConfig& config, Backend& first, Backend& second,
                          int64_t split, const std::function<bool(int64_t done, int64_t total)>& progress = {});
// Whether every matmul weight (the LM head included) is F32, F16 or BF16.
bool full_precision(const ModelWeights& weights);

}  // namespace apr::model
