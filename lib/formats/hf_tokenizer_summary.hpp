// TokenizerSummary of a Hugging Face folder, cheaply (one simdjson DOM pass
// over tokenizer.json, no tokenizer built): model type ("gpt2" for
// byte-level BPE), pre-tokenizer ("qwen2" when the Split regex is Qwen2's),
// vocabulary size (distinct ids of model.vocab and added_tokens), special
// tokens named in tokenizer_config.json, and whether a chat template exists
// (tokenizer_config.json's chat_template or a chat_template.jinja file).
#pragma once

#include <filesystem>

#include "apr/model_file.hpp"

namespace apr::formats {

// Missing files leave fields empty; malformed ones throw apr::Error(bad_format).
TokenizerSummary tokenizer_summary_from_hf(const std::filesystem::path& folder);

}  // namespace apr::formats
