#include "model/cpu_kv_cache.hpp"

#include <sys/mman.h>
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

}  // namespace apr::model
