// Memo of word -> token ids: source code repeats the same words (`self`,
// `return`, four spaces) endlessly, and a hash lookup is far cheaper than
// merging again. Shared by all threads using one Tokenizer, so it is split
// into independently locked shards; a shard that fills up is simply cleared
// (cheap, and bounds memory without bookkeeping).
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace apr::tokenizer {

class WordCache {
public:
    static constexpr size_t kMaxWordBytes = 64;  // longer words are rare and not worth keeping
    static constexpr size_t kShardCount = 16;
    static constexpr size_t kEntriesPerShard = 8192;

    // Appends the cached ids of `word` to `out`; false when it is not cached.
    bool lookup(std::string_view word, size_t hash, std::vector<int32_t>& out) const;
    void insert(std::string_view word, size_t hash, const int32_t* ids, size_t count) const;

private:
    struct Hash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    struct Shard {
        std::mutex mutex;
        std::unordered_map<std::string, std::vector<int32_t>, Hash, std::equal_to<>> map;
    };
    mutable std::array<Shard, kShardCount> shards_;
};

}  // namespace apr::tokenizer
