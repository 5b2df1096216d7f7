// ModelConfig from a Hugging Face folder: config.json in the classic layout
// (top-level rope_theta, torch_dtype) or the newer one (rope_parameters:
// {rope_theta, rope_type}, dtype, layer_types), then generation_config.json
// (its bos/eos/pad ids win; eos_token_id may be an int or a list).
#pragma once

#include <filesystem>
#include <optional>
#include <string_view>

#include "apr/model_file.hpp"

namespace apr::formats {

struct HfConfig {
    ModelConfig config;
    // What config.json declared, when it did; the tensors decide otherwise.
    std::optional<bool> tie_word_embeddings;
    std::optional<bool> attention_bias;
};

// Parses config.json text; `file` names it in errors.
HfConfig parse_hf_config(std::string_view json, std::string_view file);
// Overrides bos/eos/pad ids with those of generation_config.json text.
void apply_generation_config(ModelConfig& config, std::string_view json, std::string_view file);
// config.json (required) and generation_config.json (optional) of `folder`.
HfConfig read_hf_config(const std::filesystem::path& folder);

// Completes a config with what the tensors show: vocabulary size (embedding
// rows), tied embeddings (no output.weight), q/k/v biases (blk.0.attn_q.bias),
// and, where config.json is absent, hidden size, layer count and MLP size.
// Throws bad_format when config.json declares untied embeddings but the
// tensors have no output.weight.
void apply_tensor_facts(HfConfig& config, const ModelFile& file);

}  // namespace apr::formats
