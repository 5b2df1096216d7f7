// The CPU backend's paged KV cache: a pool of host-memory blocks (one
// anonymous mapping each, unmapped when given back, so the process's
// resident memory follows the positions sessions hold) and the per-sequence
// block table. Layout: lib/model/kv_layout.hpp.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "model/backend.hpp"

namespace apr::model {

// Hands out blocks of one size. Thread-safe: sessions on several threads
// share one model's pool.
class HostBlockPool {
public:
    explicit HostBlockPool(size_t block_bytes);
    size_t block_bytes() const { return block_bytes_; }
    // A zeroed block; throws apr::Error(out_of_memory) when the system has none.
    std::byte* acquire();
    void release(std::byte* block) noexcept;
    // Blocks handed out and not yet given back, and their bytes.
    int64_t blocks_in_use() const { return in_use_.load(std::memory_order_relaxed); }
    int64_t bytes_in_use() const { return blocks_in_use() * static_cast<int64_t>(block_bytes_); }

private:
    size_t block_bytes_;
    size_t mapped_bytes_;  // block_bytes_ rounded up to whole pages
    std::atomic<int64_t> in_use_{0};
};

class HostKVCache final : public KVCache {
public:
    HostKVCache(const KVLayout& layout, int64_t capacity, std::shared_ptr<HostBlockPool> pool);
    ~HostKVCache() override;
    HostKVCache(const HostKVCache&) = delete;
    HostKVCache& operator=(const HostKVCache&) = delete;

    int64_t capacity() const override { return capacity_; }
    const KVLayout& layout() const override { return layout_; }
    void resize(int64_t positions) override;
    int64_t held_positions() const override { return static_cast<int64_t>(blocks_.size()) * layout_.block_positions; }
    int64_t bytes() const override { return static_cast<int64_t>(blocks_.size() * pool_->block_bytes()); }
    // Whole blocks are copied; of a partly covered last block only the rows
    // below `positions` of each slab.
    bool copy_prefix_from(const KVCache& src, int64_t positions) override;

    // The slab of keys (kv = 0) or values (kv = 1) of `head` in `layer` in block b.
    std::byte* slab(int64_t block, int64_t layer, int kv, int64_t head) const {
        return blocks_[static_cast<size_t>(block)] + layout_.slab_offset(layer, kv, head);
    }
    // One head's row at `position` (block held).
    std::byte* row(int64_t position, int64_t layer, int kv, int64_t head) const {
        return slab(position / layout_.block_positions, layer, kv, head) +
               static_cast<size_t>(position % layout_.block_positions) * layout_.row_bytes();
    }

private:
    KVLayout layout_;
    int64_t capacity_;
    std::shared_ptr<HostBlockPool> pool_;
    std::vector<std::byte*> blocks_;  // the block table: blocks_[b] holds positions [b*B, (b+1)*B)
};

}  // namespace apr::model
