// What a tokenizer source says, before lookup structures are built: the
// common shape that the tokenizer.json and GGUF loaders both produce and
// build_tokenizer() turns into a Tokenizer.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "apr/model_file.hpp"
#include "apr/tokenizer.hpp"
#include "tokenizer/pre_tokenizer.hpp"

namespace apr::tokenizer {

// GGUF's token types (tokenizer.ggml.token_type), also used for tokenizer.json:
// its special added tokens are control, its other added tokens user_defined.
enum class TokenKind : uint8_t { normal = 1, unknown = 2, control = 3, user_defined = 4, unused = 5, byte = 6 };

struct AddedTokenOptions {
    bool lstrip = false;  // the match also swallows whitespace before it
    bool rstrip = false;  // ... and after it
};

struct TokenizerSpec {
    std::string source;               // for error messages: a path or "tokenizer.json"
    std::vector<std::string> pieces;  // by id; "" for ids that have no token
    std::vector<TokenKind> kinds;     // by id, same length as pieces
    std::vector<AddedTokenOptions> added_options;  // by id; empty = all defaults
    std::vector<std::pair<std::string, std::string>> merges;  // by rank
    PreTokenizerKind pre_tokenizer = PreTokenizerKind::gpt2;
    bool nfc = false;               // NFC-normalize text between added tokens
    bool add_prefix_space = false;  // prepend ' ' to each stretch not starting with one
    bool ignore_merges = false;     // a word that is itself in the vocabulary is one token
    std::optional<int32_t> bos, eos, pad;
    bool add_bos = false;
};

// The spec of a tokenizer.json text (and optional tokenizer_config.json text).
TokenizerSpec parse_tokenizer_json(std::string_view json, std::string_view config_json, std::string_view source);

// The spec in GGUF metadata (`tokenizer.ggml.*`).
TokenizerSpec parse_gguf_tokenizer(const Metadata& metadata, std::string_view source);

// Validates the spec and builds the lookup structures. Throws apr::Error
// (bad_format) naming spec.source for inconsistencies.
std::unique_ptr<Tokenizer> build_tokenizer(TokenizerSpec spec);

}  // namespace apr::tokenizer
