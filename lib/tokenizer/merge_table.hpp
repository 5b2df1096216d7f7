// Open-addressing hash table from an adjacent token pair to its BPE merge:
// the hottest lookup of encoding, so it avoids std::unordered_map's node
// chasing. Keys are (left << 32 | right); the table never shrinks.
#pragma once

#include <cstdint>
#include <vector>

namespace apr::tokenizer {

struct Merge {
    int32_t rank;    // lower merges first
    int32_t result;  // id of the merged token
};

class MergeTable {
public:
    void reserve(size_t count) {
        size_t capacity = 16;
        while (capacity < count * 2) capacity *= 2;
        slots_.assign(capacity, Slot{kEmpty, {}});
        size_ = 0;
    }

    // A pair given twice keeps the later merge, as Hugging Face's merge map
    // (built by collecting into a hash map) does.
    void insert(int32_t left, int32_t right, Merge merge) {
        if ((size_ + 1) * 2 > slots_.size()) grow();
        const uint64_t key = make_key(left, right);
        for (size_t i = index(key);; i = (i + 1) & (slots_.size() - 1)) {
            if (slots_[i].key == key) {
                slots_[i].merge = merge;
                return;
            }
            if (slots_[i].key == kEmpty) {
                slots_[i] = Slot{key, merge};
                ++size_;
                return;
            }
        }
    }

    const Merge* find(int32_t left, int32_t right) const {
        if (slots_.empty()) return nullptr;
        const uint64_t key = make_key(left, right);
        for (size_t i = index(key);; i = (i + 1) & (slots_.size() - 1)) {
            if (slots_[i].key == key) return &slots_[i].merge;
            if (slots_[i].key == kEmpty) return nullptr;
        }
    }

    size_t size() const { return size_; }

private:
    struct Slot {
        uint64_t key;
        Merge merge;
    };
    // Ids are non-negative, so an all-ones key never occurs.
    static constexpr uint64_t kEmpty = ~uint64_t{0};

    static uint64_t make_key(int32_t left, int32_t right) {
        return (uint64_t(uint32_t(left)) << 32) | uint32_t(right);
    }
    size_t index(uint64_t key) const {
        key ^= key >> 33;  // murmur3's finalizer mixes both ids into the low bits
        key *= 0xFF51AFD7ED558CCDull;
        key ^= key >> 33;
        return size_t(key) & (slots_.size() - 1);
    }
    void grow() {
        std::vector<Slot> old = std::move(slots_);
        slots_.assign(old.empty() ? 16 : old.size() * 2, Slot{kEmpty, {}});
        size_ = 0;
        for (const Slot& s : old)
            if (s.key != kEmpty) insert(int32_t(s.key >> 32), int32_t(uint32_t(s.key)), s.merge);
    }

    std::vector<Slot> slots_;
    size_t size_ = 0;
};

}  // namespace apr::tokenizer
