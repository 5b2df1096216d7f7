#include "tokenizer/word_cache.hpp"

#include <cstdlib>
#include <cstring>
#include <new>

namespace apr::tokenizer {

void WordCache::Free::operator()(void* p) const { std::free(p); }

WordCache::WordCache() : shards_(new Shard[kShardCount]) {
    // calloc: every entry starts empty (id_count 0), and a large zeroed block
    // comes straight from fresh pages, so entries never used cost no memory
    // (value-initializing with new[] would write all 4 MiB up front).
    const size_t per_shard = 2 * kSetsPerShard;
    storage_.reset(std::calloc(kShardCount * per_shard + 1, sizeof(Entry)));
    if (!storage_) throw std::bad_alloc();
    auto base = reinterpret_cast<uintptr_t>(storage_.get());
    base = (base + alignof(Entry) - 1) & ~uintptr_t(alignof(Entry) - 1);
    for (size_t i = 0; i < kShardCount; ++i) shards_[i].entries = reinterpret_cast<Entry*>(base) + i * per_shard;
}

WordCache::Entry* WordCache::set_of(size_t hash, Shard*& shard) const {
    shard = &shards_[hash % kShardCount];
    return &shard->entries[2 * ((hash / kShardCount) % kSetsPerShard)];
}

namespace {

template <typename Entry>
bool holds(const Entry& entry, std::string_view word, uint32_t tag) {
    return entry.id_count != 0 && entry.hash_tag == tag && entry.word_length == word.size() &&
           std::memcmp(entry.word, word.data(), word.size()) == 0;
}

}  // namespace

bool WordCache::lookup(std::string_view word, size_t hash, std::vector<int32_t>& out) const {
    if (word.size() > kMaxWordBytes) return false;
    Shard* shard = nullptr;
    const Entry* set = set_of(hash, shard);
    const auto tag = uint32_t(hash >> 32);
    std::lock_guard lock(shard->mutex);
    for (const Entry* entry = set; entry != set + 2; ++entry) {
        if (!holds(*entry, word, tag)) continue;
        out.insert(out.end(), entry->ids, entry->ids + entry->id_count);
        return true;
    }
    return false;
}

void WordCache::insert(std::string_view word, size_t hash, const int32_t* ids, size_t count) const {
    if (word.size() > kMaxWordBytes || count == 0 || count > kMaxIds) return;
    Shard* shard = nullptr;
    Entry* set = set_of(hash, shard);
    std::lock_guard lock(shard->mutex);
    set[1] = set[0];
    Entry& entry = set[0];
    entry.hash_tag = uint32_t(hash >> 32);
    entry.word_length = static_cast<uint8_t>(word.size());
    entry.id_count = static_cast<uint8_t>(count);
    std::memcpy(entry.word, word.data(), word.size());
    std::memcpy(entry.ids, ids, count * sizeof(int32_t));
}

}  // namespace apr::tokenizer
