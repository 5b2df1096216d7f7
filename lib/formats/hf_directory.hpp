// A Hugging Face model folder as a user downloads it from the Hub:
// config.json, generation_config.json, weights in model.safetensors or
// shards listed in model.safetensors.index.json, and tokenizer files.
#pragma once

#include <filesystem>
#include <memory>

#include "apr/model_file.hpp"

namespace apr::formats {

// Weights: the shard index when present, else model.safetensors, else the
// folder's only *.safetensors file; a folder without weights opens with no
// tensors (a tokenizer-only download). Several *.safetensors files without
// an index are refused (bad_format).
std::unique_ptr<ModelFile> open_hf_directory(const std::filesystem::path& folder);

}  // namespace apr::formats
