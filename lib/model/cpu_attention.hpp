// The CPU backend's attention over the paged KV cache (Backend::attention):
// stores the batch's keys and values into their blocks, then computes each
// query head block by block (kernels/cpu/attention.hpp), folding the
// partials in block order.
//
// Work is split two ways, and both give the same bits:
// - many rows (prompt tiles): one task per (row, kv head) runs the rows'
//   query heads of that kv head over the blocks in order, so a block's
//   key/value slab is read once for the whole GQA group while it is in cache;
// - few rows (decoding at depth): one task per (row, kv head, block) writes
//   its partials, then a pass folds them in block order (flash-decoding), so
//   two threads share a 16k-position cache instead of one head per thread.
#pragma once

#include <tbb/task_arena.h>

#include <span>

#include "cpu/cpu_features.hpp"
#include "model/backend.hpp"

namespace apr::model {

void cpu_attention(tbb::task_arena& arena, int threads, cpu::SimdLevel level, int layer, const float* q, const float* k,
                   const float* v, const int32_t* positions, std::span<const SeqSlice> seqs,
                   const AttentionShape& shape, float* out);

}  // namespace apr::model
