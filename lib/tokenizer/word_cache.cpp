#include "tokenizer/word_cache.hpp"

namespace apr::tokenizer {

bool WordCache::lookup(std::string_view word, size_t hash, std::vector<int32_t>& out) const {
    Shard& shard = shards_[hash % kShardCount];
    std::lock_guard lock(shard.mutex);
    const auto it = shard.map.find(word);
    if (it == shard.map.end()) return false;
    out.insert(out.end(), it->second.begin(), it->second.end());
    return true;
}

void WordCache::insert(std::string_view word, size_t hash, const int32_t* ids, size_t count) const {
    if (word.size() > kMaxWordBytes) return;
    Shard& shard = shards_[hash % kShardCount];
    std::lock_guard lock(shard.mutex);
    if (shard.map.size() >= kEntriesPerShard) shard.map.clear();
    shard.map.try_emplace(std::string(word), ids, ids + count);
}

}  // namespace apr::tokenizer
