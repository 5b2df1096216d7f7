// Bulk prefetches into the L2 (cp.async.bulk.prefetch, sm_90): a decode
// product's own weights a few rounds ahead of its loads, and the weights of
// the products after it (L2Prefetch, kernels.hpp), so the memory streams
// through the launch gaps, prologues and reductions between kernels. Hints
// only: nothing waits for them and no result depends on them.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cuda/kernels.hpp"

namespace apr::cuda {

// [p, p + bytes) rounded inward to 16-byte boundaries (the instruction's
// alignment), so a prefetch never touches a byte outside the range.
__device__ __forceinline__ void l2_prefetch(const void* p, size_t bytes) {
    const uintptr_t lo = (reinterpret_cast<uintptr_t>(p) + 15) & ~uintptr_t{15};
    const uintptr_t hi = (reinterpret_cast<uintptr_t>(p) + bytes) & ~uintptr_t{15};
    for (uintptr_t at = lo; at < hi;) {
        const uintptr_t n = hi - at < (uintptr_t{1} << 30) ? hi - at : (uintptr_t{1} << 30);
        asm volatile("cp.async.bulk.prefetch.L2.global [%0], %1;" ::"l"(at), "r"(static_cast<uint32_t>(n)) : "memory");
        at += n;
    }
}

// This block's share of every range of pf: range i split into gridDim.x
// equal parts, part blockIdx.x issued by thread i (one instruction each).
__device__ __forceinline__ void l2_prefetch_share(const L2Prefetch& pf) {
    const int i = static_cast<int>(threadIdx.x);
    if (i >= pf.count) return;
    const void* p = nullptr;
    size_t bytes = 0;
    // By selects: a dynamic index into the kernel's parameters would copy
    // them to local memory.
#pragma unroll
    for (int j = 0; j < kMaxL2Prefetch; ++j)
        if (j == i) {
            p = pf.p[j];
            bytes = pf.bytes[j];
        }
    const uint64_t g = gridDim.x, b = blockIdx.x;
    const size_t from = static_cast<size_t>(bytes * b / g), to = static_cast<size_t>(bytes * (b + 1) / g);
    l2_prefetch(static_cast<const uint8_t*>(p) + from, to - from);
}

}  // namespace apr::cuda
