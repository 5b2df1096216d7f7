// ModelConfig and TokenizerSummary from GGUF metadata (llama.cpp's key names:
// "<arch>.embedding_length", "tokenizer.ggml.eos_token_id", ...).
#pragma once

#include <string_view>
#include <vector>

#include "apr/model_file.hpp"

namespace apr::formats {

// Hyperparameters from "<general.architecture>.*" keys, vocabulary size from
// the token_embd.weight rows (or the token list when the file has no
// tensors), tied embeddings when token_embd exists without output.weight,
// attention bias when blk.0.attn_q.bias exists (for files without tensors:
// when the architecture is qwen2). Keys that are missing leave
// the field at its default; keys of the wrong type or out of range throw
// apr::Error(bad_format) naming `file` and the key.
ModelConfig config_from_gguf(const Metadata& metadata, const std::vector<TensorView>& tensors, std::string_view file);

// tokenizer.ggml.model / .pre, the token count, every "tokenizer.ggml.<role>_token_id"
// and whether tokenizer.chat_template is present.
TokenizerSummary tokenizer_summary_from_gguf(const Metadata& metadata, std::string_view file);

}  // namespace apr::formats
