// Memo of word -> token ids: source code repeats the same words (`self`,
// `return`, runs of indentation) endlessly, and one table probe is far
// cheaper than merging again. The table is two-way set associative: a word
// lives in one of the two 64-byte entries of its set (a new word goes first
// and pushes the older one to second place, dropping the word there), so a
// lookup touches two adjacent cache lines; words longer than kMaxWordBytes or
// with more than kMaxIds tokens are not kept. It is shared by all threads
// using one Tokenizer, split into independently locked shards.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

namespace apr::tokenizer {

class WordCache {
public:
    static constexpr size_t kMaxWordBytes = 30;
    static constexpr size_t kMaxIds = 6;
    static constexpr size_t kShardCount = 16;
    static constexpr size_t kSetsPerShard = 2048;  // 16 x 2048 x 2 x 64 bytes = 4 MiB

    WordCache();

    // Appends the cached ids of `word` to `out`; false when it is not cached.
    bool lookup(std::string_view word, size_t hash, std::vector<int32_t>& out) const;
    void insert(std::string_view word, size_t hash, const int32_t* ids, size_t count) const;

private:
    struct alignas(64) Entry {
        uint32_t hash_tag;  // upper hash bits, to reject most mismatches without memcmp
        uint8_t word_length;
        uint8_t id_count;  // 0 = empty slot
        char word[kMaxWordBytes];
        int32_t ids[kMaxIds];
    };
    static_assert(sizeof(Entry) == 64);
    struct Shard {
        std::mutex mutex;
        Entry* entries = nullptr;  // set i is entries[2i], entries[2i + 1]
    };
    struct Free {
        void operator()(void* p) const;
    };
    // First entry of the word's set, and its shard.
    Entry* set_of(size_t hash, Shard*& shard) const;

    std::unique_ptr<void, Free> storage_;  // all entries, zeroed by calloc
    std::unique_ptr<Shard[]> shards_;
};

}  // namespace apr::tokenizer
