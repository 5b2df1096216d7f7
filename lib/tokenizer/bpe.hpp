// Byte-level BPE on one word: start from one token per byte and repeatedly
// apply the lowest-ranked merge among adjacent pairs (leftmost first on ties),
// exactly as Hugging Face's BPE model does, using a priority queue of
// candidate merges so long words stay O(n log n).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/merge_table.hpp"

namespace apr::tokenizer {

struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using VocabMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

class Bpe {
public:
    // byte_ids[b]: the id of the single-byte token for byte b, -1 if the
    // vocabulary lacks it (such bytes are dropped, as Hugging Face does
    // without an unk token). vocab is needed only for ignore_merges.
    Bpe(const MergeTable* merges, std::array<int32_t, 256> byte_ids, const VocabMap* vocab, bool ignore_merges)
        : merges_(merges), byte_ids_(byte_ids), vocab_(vocab), ignore_merges_(ignore_merges) {}

    // Appends the ids of the word made of `bytes` (raw bytes, not byte-level text).
    void encode_word(std::string_view bytes, std::vector<int32_t>& out) const;

private:
    const MergeTable* merges_;
    std::array<int32_t, 256> byte_ids_;
    const VocabMap* vocab_;
    bool ignore_merges_;
};

}  // namespace apr::tokenizer
