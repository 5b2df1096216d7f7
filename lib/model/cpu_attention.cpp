#include "model/cpu_attention.hpp"

#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "cpu/attention.hpp"
#include "cpu/ops.hpp"
#include "model/cpu_kv_cache.hpp"

namespace apr::model {
namespace {

// One (row, kv head) of the batch: its query heads attend positions [0, n).
struct Unit {
    const HostKVCache* cache;
    int64_t row;
    int64_t kv_head;
    int64_t n;          // positions seen: position + 1
    int64_t blocks;     // blocks covering them
    int64_t first_part; // split path: index of its first (block) partial
};

// Per-thread scratch, grown once to the largest GQA group of heads and block.
struct Scratch {
    std::vector<float> scores, vrow, acc, qf;
    std::vector<uint16_t> q16, acc16;
    std::vector<std::byte> q8;
    std::vector<cpu::AttentionPartial> parts;
    void fit(int64_t d, int64_t block, int64_t group) {
        const auto ud = static_cast<size_t>(d), ub = static_cast<size_t>(block), ug = static_cast<size_t>(group);
        if (scores.size() < ub) scores.resize(ub);
        if (vrow.size() < ud) {
            vrow.resize(ud);
            q8.resize(ud / 32 * 34 + 34);
        }
        if (acc.size() < ud * ug) {
            acc.resize(ud * ug);
            qf.resize(ud * ug);
            q16.resize(ud * ug);
            acc16.resize(ud * ug);
        }
        if (parts.size() < ug) parts.resize(ug);
    }
};

class Attention {
public:
    Attention(cpu::SimdLevel level, const AttentionShape& shape, int layer, const float* q)
        : level_(level), shape_(shape), layer_(layer), q_(q), hd_(shape.head_dim),
          group_(shape.heads / shape.kv_heads), q_dim_(shape.heads * shape.head_dim),
          scale_(1.0f / std::sqrt(static_cast<float>(shape.head_dim))) {}

    // The partial of query head `h` of `row` over block b of `cache`
    // (the first n positions of it). acc: hd floats.
    cpu::AttentionPartial block(Scratch& s, const HostKVCache& cache, int64_t row, int64_t kv_head, int64_t h,
                                int64_t b, int64_t n, float* acc) const {
        const KVLayout& L = cache.layout();
        const float* qh = q_ + row * q_dim_ + h * hd_;
        const std::byte* k = cache.slab(b, layer_, 0, kv_head);
        const std::byte* v = cache.slab(b, layer_, 1, kv_head);
        switch (L.type) {
            case KVCacheType::f32:
                return cpu::attend_block_f32(qh, reinterpret_cast<const float*>(k), reinterpret_cast<const float*>(v),
                                             hd_, n, hd_, scale_, s.scores.data(), acc, level_);
            case KVCacheType::f16:
                cpu::f32_to_f16_row(qh, s.q16.data(), hd_, level_);
                return cpu::attend_block_f16(s.q16.data(), reinterpret_cast<const uint16_t*>(k),
                                             reinterpret_cast<const uint16_t*>(v), hd_, n, hd_, scale_, s.acc16.data(),
                                             acc, level_);
            case KVCacheType::q8_0:
                cpu::f32_to_q8_0_row(qh, s.q8.data(), hd_, level_);
                return cpu::attend_block_q8_0(s.q8.data(), k, v, hd_ / 32, n, hd_, scale_, s.scores.data(),
                                              s.vrow.data(), acc, level_);
        }
        return {-INFINITY, 0.0f};
    }

    // The partials of all query heads of kv_head (its GQA group) over block
    // b: acc receives group * hd floats, parts group partials. An f16 cache
    // converts each key and value row once for the whole group; every head's
    // bits are those of block() for it alone.
    void block_group(Scratch& s, const HostKVCache& cache, int64_t row, int64_t kv_head, int64_t b, int64_t n,
                     float* acc, cpu::AttentionPartial* parts) const {
        if (cache.layout().type == KVCacheType::f16) {
            const float* qg = q_ + row * q_dim_ + kv_head * group_ * hd_;
            cpu::f32_to_f16_row(qg, s.q16.data(), group_ * hd_, level_);
            cpu::attend_block_f16_group(s.q16.data(), group_, reinterpret_cast<const uint16_t*>(cache.slab(b, layer_, 0, kv_head)),
                                        reinterpret_cast<const uint16_t*>(cache.slab(b, layer_, 1, kv_head)), hd_, n, hd_,
                                        scale_, s.qf.data(), s.acc16.data(), acc, parts, level_);
            return;
        }
        for (int64_t g = 0; g < group_; ++g)
            parts[g] = block(s, cache, row, kv_head, kv_head * group_ + g, b, n, acc + g * hd_);
    }

    // Positions of block b that a unit sees.
    static int64_t block_count(const Unit& u, int64_t b, int64_t block_positions) {
        return std::min(block_positions, u.n - b * block_positions);
    }

    // Row path: the whole unit, blocks in order; writes its heads' outputs.
    void run_unit(Scratch& s, const Unit& u, float* out, std::vector<float>& state) const {
        const int64_t B = u.cache->layout().block_positions;
        state.assign(static_cast<size_t>(group_ * (hd_ + 2)), 0.0f);
        std::vector<cpu::AttentionPartial> parts(static_cast<size_t>(group_), cpu::AttentionPartial{-INFINITY, 0.0f});
        for (int64_t b = 0; b < u.blocks; ++b) {
            const int64_t n = block_count(u, b, B);
            block_group(s, *u.cache, u.row, u.kv_head, b, n, s.acc.data(), s.parts.data());
            for (int64_t g = 0; g < group_; ++g)
                cpu::fold_partial(parts[static_cast<size_t>(g)], state.data() + g * hd_, s.parts[static_cast<size_t>(g)],
                                  s.acc.data() + g * hd_, hd_);
        }
        for (int64_t g = 0; g < group_; ++g) {
            const int64_t h = u.kv_head * group_ + g;
            cpu::finish_partial(parts[static_cast<size_t>(g)], state.data() + g * hd_, hd_, out + u.row * q_dim_ + h * hd_);
        }
    }

    int64_t group() const { return group_; }
    int64_t head_dim() const { return hd_; }
    int64_t q_dim() const { return q_dim_; }

private:
    cpu::SimdLevel level_;
    AttentionShape shape_;
    int layer_;
    const float* q_;
    int64_t hd_, group_, q_dim_;
    float scale_;
};

void store_row(HostKVCache& cache, int layer, int64_t pos, const float* k, const float* v, int64_t hd,
               int64_t kv_heads, cpu::SimdLevel level) {
    for (int64_t h = 0; h < kv_heads; ++h) {
        for (int kv = 0; kv < 2; ++kv) {
            const float* src = (kv == 0 ? k : v) + h * hd;
            std::byte* dst = cache.row(pos, layer, kv, h);
            switch (cache.type()) {
                case KVCacheType::f32: std::memcpy(dst, src, static_cast<size_t>(hd) * 4); break;
                case KVCacheType::f16: cpu::f32_to_f16_row(src, reinterpret_cast<uint16_t*>(dst), hd, level); break;
                case KVCacheType::q8_0: cpu::f32_to_q8_0_row(src, dst, hd, level); break;
            }
        }
    }
}

tbb::enumerable_thread_specific<Scratch>& scratch() {
    static tbb::enumerable_thread_specific<Scratch> s;
    return s;
}

}  // namespace

void cpu_attention(tbb::task_arena& arena, int threads, cpu::SimdLevel level, int layer, const float* q, const float* k,
                   const float* v, const int32_t* positions, std::span<const SeqSlice> seqs,
                   const AttentionShape& shape, float* out) {
    const int64_t hd = shape.head_dim;
    const int64_t kv_dim = shape.kv_heads * hd;
    // 1. store this batch's keys and values
    int64_t rows = 0;
    for (const SeqSlice& s : seqs) rows += s.count;
    std::vector<std::pair<HostKVCache*, int64_t>> row_cache;  // (cache, row) in batch order
    row_cache.reserve(static_cast<size_t>(rows));
    for (const SeqSlice& s : seqs)
        for (int64_t r = s.first; r < s.first + s.count; ++r) row_cache.emplace_back(static_cast<HostKVCache*>(s.cache), r);
    auto store = [&](int64_t i) {
        auto [cache, r] = row_cache[static_cast<size_t>(i)];
        store_row(*cache, layer, positions[r], k + r * kv_dim, v + r * kv_dim, hd, shape.kv_heads, level);
    };
    // A few rows (a decode step) are stored on this thread: converting
    // 8 rows of a small model's keys and values takes microseconds, less
    // than waking the other threads would.
    if (rows * kv_dim < 8192) {
        for (int64_t i = 0; i < rows; ++i) store(i);
    } else {
        arena.execute([&] {
            tbb::parallel_for(tbb::blocked_range<int64_t>(0, rows, 16), [&](const tbb::blocked_range<int64_t>& range) {
                for (int64_t i = range.begin(); i < range.end(); ++i) store(i);
            });
        });
    }

    // 2. the units of work
    const Attention attn(level, shape, layer, q);
    std::vector<Unit> units;
    units.reserve(static_cast<size_t>(rows * shape.kv_heads));
    int64_t parts = 0;
    for (const auto& [cache, r] : row_cache) {
        const int64_t n = positions[r] + 1;
        const int64_t blocks = (n + cache->layout().block_positions - 1) / cache->layout().block_positions;
        for (int64_t h = 0; h < shape.kv_heads; ++h) {
            units.push_back({cache, r, h, n, blocks, parts});
            parts += blocks;
        }
    }
    const auto unit_count = static_cast<int64_t>(units.size());
    const int64_t group = attn.group();

    if (unit_count >= 4 * threads || parts == unit_count) {
        // Row path: enough (row, kv head) units to keep every thread busy.
        arena.execute([&] {
            tbb::parallel_for(tbb::blocked_range<int64_t>(0, unit_count), [&](const tbb::blocked_range<int64_t>& range) {
                Scratch& s = scratch().local();
                s.fit(hd, kKVBlockPositions, group);
                thread_local std::vector<float> state;
                for (int64_t i = range.begin(); i < range.end(); ++i) attn.run_unit(s, units[static_cast<size_t>(i)], out, state);
            });
        });
        return;
    }

    // Split path (flash-decoding): every (unit, block) pair is a task writing
    // its group's partials; then each unit folds them in block order.
    // The caller's thread owns this storage for the call (sessions on other
    // threads have their own).
    thread_local std::vector<float> part_acc;
    thread_local std::vector<cpu::AttentionPartial> part_state;
    thread_local std::vector<int64_t> part_unit;
    const auto total = static_cast<size_t>(parts * group);
    if (part_acc.size() < total * static_cast<size_t>(hd)) part_acc.resize(total * static_cast<size_t>(hd));
    if (part_state.size() < total) part_state.resize(total);
    part_unit.resize(static_cast<size_t>(parts));
    for (int64_t i = 0; i < unit_count; ++i)
        for (int64_t b = 0; b < units[static_cast<size_t>(i)].blocks; ++b)
            part_unit[static_cast<size_t>(units[static_cast<size_t>(i)].first_part + b)] = i;
    float* acc_base = part_acc.data();
    cpu::AttentionPartial* state_base = part_state.data();
    const int64_t* unit_of = part_unit.data();
    arena.execute([&] {
        tbb::parallel_for(tbb::blocked_range<int64_t>(0, parts), [&](const tbb::blocked_range<int64_t>& range) {
            Scratch& s = scratch().local();
            s.fit(hd, kKVBlockPositions, group);
            for (int64_t p = range.begin(); p < range.end(); ++p) {
                const Unit& u = units[static_cast<size_t>(unit_of[p])];
                const int64_t b = p - u.first_part;
                const int64_t n = Attention::block_count(u, b, u.cache->layout().block_positions);
                const size_t slot = static_cast<size_t>(p * group);
                attn.block_group(s, *u.cache, u.row, u.kv_head, b, n, acc_base + slot * hd, state_base + slot);
            }
        });
        tbb::parallel_for(tbb::blocked_range<int64_t>(0, unit_count), [&](const tbb::blocked_range<int64_t>& range) {
            thread_local std::vector<float> folded;
            folded.resize(static_cast<size_t>(hd));
            for (int64_t i = range.begin(); i < range.end(); ++i) {
                const Unit& u = units[static_cast<size_t>(i)];
                for (int64_t g = 0; g < group; ++g) {
                    cpu::AttentionPartial state{-INFINITY, 0.0f};
                    for (int64_t b = 0; b < u.blocks; ++b) {
                        const size_t slot = static_cast<size_t>((u.first_part + b) * group + g);
                        cpu::fold_partial(state, folded.data(), state_base[slot], acc_base + slot * hd, hd);
                    }
                    cpu::finish_partial(state, folded.data(), hd, out + u.row * attn.q_dim() + (u.kv_head * group + g) * hd);
                }
            }
        });
    });
}

}  // namespace apr::model
