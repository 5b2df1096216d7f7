// The JSON metadata section of an APR file (docs/apr-format.md lists every
// field): the model config, the tokenizer (vocabulary, merges, token types,
// special ids), the chat template, the source's own metadata (GGUF keys with
// their value types, so an export gives them back exactly), the source's
// Hugging Face text files, and provenance.
//
// On open, the reader turns it into what every other part of libapr reads:
// ModelConfig, TokenizerSummary and GGUF-style metadata keys
// (tokenizer.ggml.*, tokenizer.chat_template, plus the source's keys), so the
// tokenizer and chat-template loaders treat an APR file like a GGUF one.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "apr/model_file.hpp"

namespace apr::formats {

class LoadedModelFile;

struct AprTokenizer {
    std::string model;     // "gpt2" (byte-level BPE), as tokenizer.ggml.model
    std::string pre_type;  // "qwen2", "llama-bpe", ... as tokenizer.ggml.pre
    std::vector<std::string> vocabulary;  // by id
    std::vector<std::string> merges;      // "a b", by rank
    std::vector<int32_t> token_type;      // GGUF token types by id (1 normal ... 6 byte); empty = all normal
    std::optional<int32_t> bos_token_id, eos_token_id, pad_token_id;
    std::optional<bool> add_bos_token;
};

struct AprProvenance {
    std::string source;         // file or folder name of the source
    std::string source_format;  // "gguf", "hf_directory", "safetensors", "apr"
    std::string sha256;         // of the source's weights file
    std::string tool;           // "libapr 0.1.0"
    std::string conversion;     // "import", "import --dtype f16", "quantize q4_k_m"
};

struct AprMetadata {
    ModelConfig config;
    // How rotary pairs are laid out in the q/k weights: "neox" (i, i+d/2;
    // Hugging Face checkpoints and Qwen2) or "normal" (interleaved; llama.cpp
    // permutes Llama q/k rows into this when it converts to GGUF).
    std::string rope_type = "neox";
    std::optional<AprTokenizer> tokenizer;
    std::optional<std::string> chat_template;
    std::vector<std::pair<std::string, int32_t>> special_tokens;  // role -> id, as TokenizerSummary
    Metadata source_metadata;                          // GGUF keys other than the tokenizer's
    std::map<std::string, std::string> source_files;   // "config.json" -> text, ...
    AprProvenance provenance;
};

std::string encode_apr_metadata(const AprMetadata& metadata);

// Parses and validates the JSON; `file` names the APR file in errors, which
// then name the field ("x.apr: metadata 'num_layers' must be ...").
AprMetadata decode_apr_metadata(std::string_view json, std::string_view file);

// Maps, validates and decodes an APR file's metadata only.
AprMetadata read_apr_metadata(const std::filesystem::path& path);

// Fills config, GGUF-style metadata and tokenizer summary from the JSON text.
void apply_apr_metadata(LoadedModelFile& model, std::string_view json, std::string_view file);

// The GGUF-style keys a tokenizer is stored under (tokenizer.ggml.*), with
// llama.cpp's value types: what the reader exposes and the GGUF exporter writes.
void put_tokenizer_keys(Metadata& metadata, const AprTokenizer& tokenizer);

// Metadata keys that put_tokenizer_keys writes or that the APR file keeps in
// its own fields (tokenizer.chat_template); the importer leaves them out of
// source_metadata.
bool is_tokenizer_key(std::string_view key);

}  // namespace apr::formats
