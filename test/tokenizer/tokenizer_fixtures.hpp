// Shared by the fixture-based tokenizer tests: the tokenizers under test,
// each loaded once per program (the Qwen2.5 vocabulary takes a moment).
#pragma once

#include <memory>
#include <string>

#include "apr/tokenizer.hpp"
#include "support/fixtures.hpp"

namespace apr::test {

inline std::filesystem::path qwen_dir() { return fixtures_dir() / "qwen2.5-tokenizer"; }

inline const Tokenizer& qwen_from_gguf() {
    static const auto tok = Tokenizer::from_file(qwen_dir() / "qwen2.5-vocab.gguf");
    return *tok;
}
inline const Tokenizer& qwen_from_json() {
    static const auto tok = Tokenizer::from_file(qwen_dir() / "tokenizer.json");
    return *tok;
}

}  // namespace apr::test
