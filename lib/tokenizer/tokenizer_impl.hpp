// The state behind apr::Tokenizer, built once by build_tokenizer().
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "apr/tokenizer.hpp"
#include "tokenizer/added_tokens.hpp"
#include "tokenizer/bpe.hpp"
#include "tokenizer/merge_table.hpp"
#include "tokenizer/pre_tokenizer.hpp"
#include "tokenizer/tokenizer_spec.hpp"
#include "tokenizer/word_cache.hpp"

namespace apr {

// Hidden: a pimpl nested in an exported class would otherwise inherit its
// default visibility and leak into libapr.so's exports.
struct __attribute__((visibility("hidden"))) Tokenizer::Impl {
    std::string source;
    std::vector<std::string> pieces;        // by id, as stored
    std::vector<std::string> bytes;         // by id, what the token decodes to
    std::vector<tokenizer::TokenKind> kinds;  // by id
    tokenizer::VocabMap vocab;              // piece -> id
    tokenizer::MergeTable merges;
    std::array<int32_t, 256> byte_ids{};
    tokenizer::AddedTokenMatcher added;
    tokenizer::PreTokenizerKind pre_tokenizer = tokenizer::PreTokenizerKind::gpt2;
    bool nfc = false;
    bool add_prefix_space = false;
    bool ignore_merges = false;
    std::optional<int32_t> bos, eos, pad;
    bool add_bos = false;
    tokenizer::WordCache cache;

    // Encodes text that contains no added tokens.
    void encode_plain(std::string_view text, std::vector<int32_t>& out) const;
    void check_id(int32_t id) const;
};

}  // namespace apr
