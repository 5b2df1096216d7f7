#include "model/cpu_kv_cache.hpp"

#include <sys/mman.h>
#include <cstring>
#include <unistd.h>

#include "core/fail.hpp"

namespace apr::model {

HostBlockPool::HostBlockPool(size_t block_bytes) : block_bytes_(block_bytes) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    mapped_bytes_ = (block_bytes + page - 1) / page * page;
}

std::byte* HostBlockPool::acquire() {
    // A mapping per block rather than malloc: munmap returns the memory to
    // the system at once, whatever the allocator's thresholds, and the pages
    // only become resident as positions are written.
    void* p = mmap(nullptr, mapped_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        fail(ErrorCode::out_of_memory, "KV cache: no memory for another block of {} bytes ({} blocks held)",
             block_bytes_, blocks_in_use());
    in_use_.fetch_add(1, std::memory_order_relaxed);
    return static_cast<std::byte*>(p);
}

void HostBlockPool::release(std::byte* block) noexcept {
    if (block == nullptr) return;
    munmap(block, mapped_bytes_);
    in_use_.fetch_sub(1, std::memory_order_relaxed);
}

HostKVCache::HostKVCache(const KVLayout& layout, int64_t capacity, std::shared_ptr<HostBlockPool> pool)
    : layout_(layout), capacity_(capacity), pool_(std::move(pool)) {}

HostKVCache::~HostKVCache() { resize(0); }

void HostKVCache::resize(int64_t positions) {
    if (positions < 0 || positions > capacity_)
        fail(ErrorCode::internal, "KV cache: resize to {} positions outside 0..{}", positions, capacity_);
    const size_t need = static_cast<size_t>((positions + layout_.block_positions - 1) / layout_.block_positions);
    if (need > blocks_.size()) {
        const size_t before = blocks_.size();
        blocks_.reserve(need);
        try {
            while (blocks_.size() < need) blocks_.push_back(pool_->acquire());
        } catch (...) {
            while (blocks_.size() > before) {
                pool_->release(blocks_.back());
                blocks_.pop_back();
            }
            throw;
        }
    }
    while (blocks_.size() > need) {
        pool_->release(blocks_.back());
        blocks_.pop_back();
    }
}

bool HostKVCache::copy_prefix_from(const KVCache& src, int64_t positions) {
    const auto* from = dynamic_cast<const HostKVCache*>(&src);
    if (from == nullptr) return false;
    const KVLayout& a = layout_;
    const KVLayout& b = from->layout_;
    if (a.layers != b.layers || a.kv_heads != b.kv_heads || a.head_dim != b.head_dim || a.type != b.type ||
        a.block_positions != b.block_positions || from->pool_->block_bytes() != pool_->block_bytes())
        return false;
    if (positions < 0 || positions > from->held_positions() || positions > capacity_)
        fail(ErrorCode::internal, "KV cache: copy of {} positions from a cache holding {} (capacity {})", positions,
             from->held_positions(), capacity_);
    resize(positions);  // may throw out_of_memory: nothing copied yet
    const int64_t B = a.block_positions;
    const int64_t full = positions / B, rest = positions % B;
    for (int64_t blk = 0; blk < full; ++blk)
        std::memcpy(blocks_[static_cast<size_t>(blk)], from->blocks_[static_cast<size_t>(blk)], pool_->block_bytes());
    if (rest > 0) {
        const size_t rows = static_cast<size_t>(rest) * a.row_bytes();
        for (int64_t layer = 0; layer < a.layers; ++layer)
            for (int kv = 0; kv < 2; ++kv)
                for (int64_t h = 0; h < a.kv_heads; ++h) std::memcpy(slab(full, layer, kv, h), from->slab(full, layer, kv, h), rows);
    }
    return true;
}

}  // namespace apr::model
