// Hyperparameters of a Llama-family transformer (Qwen2 first), filled the
// same way from GGUF metadata and from a Hugging Face config.json.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace apr {

struct ModelConfig {
    std::string architecture;     // "qwen2", "llama"
    int64_t hidden_size = 0;
    int64_t num_layers = 0;
    int64_t num_heads = 0;
    int64_t num_kv_heads = 0;
    int64_t head_dim = 0;
    int64_t intermediate_size = 0;
    int64_t vocab_size = 0;       // rows of the embedding matrix (may exceed the tokenizer's size)
    double rope_theta = 10000.0;
    double rms_norm_eps = 1e-6;
    bool tied_embeddings = false; // the LM head reuses the token embedding matrix
    bool attention_bias = false;  // q/k/v projections carry biases (Qwen2)
    int64_t context_length = 0;   // trained maximum positions
    std::optional<int32_t> bos_token_id;
    std::vector<int32_t> eos_token_ids;  // generation stops on any of them
    std::optional<int32_t> pad_token_id;
    // Informational, from Hugging Face configs: "bfloat16" (torch_dtype or
    // dtype), the rope variant ("default", "linear", "yarn", ...), and the
    // newer per-layer attention kinds ("full_attention", "sliding_attention").
    std::string torch_dtype;
    std::string rope_type;
    std::vector<std::string> layer_types;
};

}  // namespace apr
