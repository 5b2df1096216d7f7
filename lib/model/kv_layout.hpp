// The paged KV cache's block layout, shared by every backend (CPU now,
// CUDA next) and by whatever reuses cached prefixes (the server).
//
// A sequence's cache is a block table: block b holds positions
// [b * block_positions, (b + 1) * block_positions) for EVERY layer, keys and
// values. Blocks come from a pool as the sequence grows and go back when it
// is truncated or reset, so memory follows the positions held. One block
// table serves all layers, so sharing a prefix between sequences means
// sharing the first blocks of their tables (whole blocks; a partly filled
// last block is copied), and a GPU kernel needs one table per sequence.
//
// Inside a block, slabs are ordered [layer][K, V][kv_head], and each slab is
// block_positions rows of one head's head_dim values, position-major:
//
//   block = layer 0: K head 0 [pos 0..B-1][head_dim], K head 1 ..., V head 0 ..., V head 1 ...
//           layer 1: ...
//
// so attention reads one head's keys (and values) for a block as one
// contiguous slab (head-major, "HND" in FlashInfer's terms). Row formats:
//   f32:  head_dim floats                  f16: head_dim IEEE halves
//   q8_0: head_dim / 32 blocks of 34 bytes (f16 scale + 32 int8), as GGML's Q8_0
#pragma once

#include <cstddef>
#include <cstdint>

#include "apr/session.hpp"

namespace apr::model {

// Positions per block. Attention folds its partial results block by block,
// so this also fixes the reduction order (see kernels/cpu/attention.hpp).
// 256 keeps a block's slab of one head (f16, head_dim 128: 64 KiB) in L2
// while giving depth-16k decoding 64 blocks per head to spread over threads.
constexpr int64_t kKVBlockPositions = 256;

struct KVLayout {
    int64_t layers = 0;
    int64_t kv_heads = 0;
    int64_t head_dim = 0;
    KVCacheType type = KVCacheType::f16;
    int64_t block_positions = kKVBlockPositions;

    // Bytes of one head's keys (or values) at one position.
    size_t row_bytes() const {
        switch (type) {
            case KVCacheType::f32: return static_cast<size_t>(head_dim) * 4;
            case KVCacheType::f16: return static_cast<size_t>(head_dim) * 2;
            case KVCacheType::q8_0: return static_cast<size_t>(head_dim / 32) * 34;
        }
        return 0;
    }
    size_t slab_bytes() const { return row_bytes() * static_cast<size_t>(block_positions); }
    size_t block_bytes() const { return slab_bytes() * static_cast<size_t>(2 * kv_heads * layers); }
    // Where the keys (kv = 0) or values (kv = 1) of `head` in `layer` start in a block.
    size_t slab_offset(int64_t layer, int kv, int64_t head) const {
        return static_cast<size_t>((layer * 2 + kv) * kv_heads + head) * slab_bytes();
    }
    // Bytes per position for all layers, keys and values.
    size_t position_bytes() const { return row_bytes() * static_cast<size_t>(2 * kv_heads * layers); }
};

}  // namespace apr::model
