// The pre-tokenizers of byte-level BPE models: the regexes that cut text into
// words before BPE, hand-written as matchers (no std::regex) that follow the
// regex engine's leftmost-first alternation and backtracking exactly.
//
//   qwen2:  (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|
//            ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//   llama3: the same with \p{N}{1,3} instead of \p{N}
//   gpt2:   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace apr::tokenizer {

enum class PreTokenizerKind { qwen2, llama3, gpt2 };

std::string_view pre_tokenizer_name(PreTokenizerKind kind);

// The regex of a kind, as tokenizer.json's Split pre-tokenizer writes it.
std::string_view pre_tokenizer_regex(PreTokenizerKind kind);

// The kind for a GGUF `tokenizer.ggml.pre` value; nullopt when unknown.
std::optional<PreTokenizerKind> pre_tokenizer_from_gguf_name(std::string_view name);

// The kind whose regex is `pattern` (as written in tokenizer.json's Split
// pre-tokenizer); nullopt when it is none of the known ones.
std::optional<PreTokenizerKind> pre_tokenizer_from_regex(std::string_view pattern);

// Appends the words of `text` to `words`, in order; together they cover the
// text exactly. Invalid UTF-8 bytes count as one character each, in no class.
void split_words(PreTokenizerKind kind, std::string_view text, std::vector<std::string_view>& words);

}  // namespace apr::tokenizer
