#include "cpu/repack.hpp"

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>
#include <tbb/task_arena.h>

#include "core/fail.hpp"
#include "cpu/matmul.hpp"
#include "cpu/dispatch.hpp"
#include "cpu/quant_dot.hpp"
#include "cpu/repack_layout.hpp"
#include "quant/blocks.hpp"
#include "quant/dequantize.hpp"

namespace apr::cpu {

using quant::BlockQ4_K;
using quant::BlockQ6_K;
using quant::kQKK;

namespace {

bool wide(SimdLevel level) { return level == SimdLevel::avx512; }

void check_level(SimdLevel level) {
    if (level != SimdLevel::avx2 && level != SimdLevel::avx512)
        fail(ErrorCode::invalid_argument, "repacked weights: no layout for SIMD level {}", simd_level_name(level));
}

size_t group_block_bytes(DType type, SimdLevel level) {
    check_level(level);
    switch (type) {
        case DType::Q4_K: return wide(level) ? sizeof(BlockQ4_Kx16) : sizeof(BlockQ4_Kx8);
        case DType::Q6_K: return wide(level) ? sizeof(BlockQ6_Kx16) : sizeof(BlockQ6_Kx8);
        default: fail(ErrorCode::unsupported, "repacked weights: type {} has no repacked layout", dtype_name(type));
    }
}

void check_shape(DType type, int64_t rows, int64_t cols, SimdLevel level) {
    check_level(level);
    if (type != DType::Q4_K && type != DType::Q6_K)
        fail(ErrorCode::unsupported, "repacked weights: type {} has no repacked layout", dtype_name(type));
    const int64_t group = repack_group_rows(level);
    if (rows <= 0 || cols <= 0 || rows % group != 0 || cols % kQKK != 0)
        fail(ErrorCode::invalid_argument, "repacked weights: shape {}x{} needs rows % {} == 0 and cols % 256 == 0",
             rows, cols, group);
}

// --- Q4_K: the 6-bit scales and mins of the file's 12 packed bytes -----------

void q4_unpack_scales(const uint8_t* q, uint8_t sc[8], uint8_t mn[8]) {
    for (int j = 0; j < 4; ++j) {
        sc[j] = q[j] & 63;
        mn[j] = q[j + 4] & 63;
        sc[j + 4] = static_cast<uint8_t>((q[j + 8] & 0xF) | ((q[j] >> 6) << 4));
        mn[j + 4] = static_cast<uint8_t>((q[j + 8] >> 4) | ((q[j + 4] >> 6) << 4));
    }
}

void q4_pack_scales(const uint8_t sc[8], const uint8_t mn[8], uint8_t* q) {
    for (int j = 0; j < 4; ++j) {
        q[j] = static_cast<uint8_t>(sc[j] | ((sc[j + 4] >> 4) << 6));
        q[j + 4] = static_cast<uint8_t>(mn[j] | ((mn[j + 4] >> 4) << 6));
        q[j + 8] = static_cast<uint8_t>((sc[j + 4] & 0xF) | ((mn[j + 4] & 0xF) << 4));
    }
}

// Both Q4_K layouts (8 rows for AVX2, 16 for AVX-512) keep each row's
// values, scales and mins in the same places; only the row count differs.
template <int R, typename Group>
void repack_group_q4(const BlockQ4_K* const* rows, Group& out) {
    for (int r = 0; r < R; ++r) {
        const BlockQ4_K& b = *rows[r];
        out.d[r] = b.d;
        out.dmin[r] = b.dmin;
        uint8_t sc[8], mn[8];
        q4_unpack_scales(b.scales, sc, mn);
        for (int s = 0; s < 8; ++s) {
            out.scales[s][r] = sc[s];
            out.mins[s][r] = mn[s];
        }
        for (int p = 0; p < 4; ++p)
            for (int c = 0; c < 8; ++c) std::memcpy(out.qs[p][c][r], b.qs + 32 * p + 4 * c, 4);
    }
}

template <typename Group>
void unpack_row_q4(const Group& g, int r, BlockQ4_K& b) {
    b.d = g.d[r];
    b.dmin = g.dmin[r];
    uint8_t sc[8], mn[8];
    for (int s = 0; s < 8; ++s) {
        sc[s] = g.scales[s][r];
        mn[s] = g.mins[s][r];
    }
    q4_pack_scales(sc, mn, b.scales);
    for (int p = 0; p < 4; ++p)
        for (int c = 0; c < 8; ++c) std::memcpy(b.qs + 32 * p + 4 * c, g.qs[p][c][r], 4);
}

void repack_group_q4_K(const BlockQ4_K* rows[8], BlockQ4_Kx8& out) { repack_group_q4<8>(rows, out); }
void unpack_row_q4_K(const BlockQ4_Kx8& g, int r, BlockQ4_K& b) { unpack_row_q4(g, r, b); }

// --- Q6_K: the 256 stored 6-bit numbers (0..63) of a block ----------------

// Each 128-value half uses 64 bytes of ql and 32 of qh; quarter q (32
// values) takes the low (q < 2) or high nibbles of ql and bits 2q of qh.
void q6_decode(const BlockQ6_K& b, uint8_t q[256]) {
    for (int half = 0; half < 2; ++half)
        for (int quarter = 0; quarter < 4; ++quarter)
            for (int pos = 0; pos < 32; ++pos) {
                const uint8_t ql = b.ql[half * 64 + (quarter % 2) * 32 + pos];
                const uint8_t qh = b.qh[half * 32 + pos];
                q[half * 128 + quarter * 32 + pos] = static_cast<uint8_t>(
                    ((quarter < 2 ? ql : ql >> 4) & 0xF) | (((qh >> (2 * quarter)) & 3) << 4));
            }
}

void q6_encode(const uint8_t q[256], BlockQ6_K& b) {
    std::memset(b.ql, 0, sizeof b.ql);
    std::memset(b.qh, 0, sizeof b.qh);
    for (int half = 0; half < 2; ++half)
        for (int quarter = 0; quarter < 4; ++quarter)
            for (int pos = 0; pos < 32; ++pos) {
                const int v = q[half * 128 + quarter * 32 + pos];
                uint8_t& ql = b.ql[half * 64 + (quarter % 2) * 32 + pos];
                ql = static_cast<uint8_t>(ql | ((v & 0xF) << (quarter < 2 ? 0 : 4)));
                b.qh[half * 32 + pos] = static_cast<uint8_t>(b.qh[half * 32 + pos] | ((v >> 4) << (2 * quarter)));
            }
}

// The two Q6_K layouts keep a row's scales in the same places and differ
// only in where the low 4 and high 2 bits of value (set s, chunk c, row r,
// value i) sit: the 8-row one by set pair and set quad, the 16-row one by set
// quad first, in the AVX-512 kernel's read order.
template <typename Group>
auto& q6_low_bits(Group& g, int s, int c, int r, int i) {
    if constexpr (std::is_same_v<std::remove_const_t<Group>, BlockQ6_Kx8>) return g.ql[s / 2][c][r][i];
    else return g.quad[s / 4].ql[(s / 2) % 2][c][r][i];
}
template <typename Group>
auto& q6_high_bits(Group& g, int s, int c, int r, int i) {
    if constexpr (std::is_same_v<std::remove_const_t<Group>, BlockQ6_Kx8>) return g.qh[s / 4][c][r][i];
    else return g.quad[s / 4].qh[c][r][i];
}

template <int R, typename Group>
void repack_group_q6(const BlockQ6_K* const* rows, Group& out) {
    std::memset(&out, 0, sizeof out);
    for (int r = 0; r < R; ++r) {
        const BlockQ6_K& b = *rows[r];
        out.d[r] = b.d;
        uint8_t q[256];
        q6_decode(b, q);
        for (int s = 0; s < 8; ++s) {
            out.scales[s][r][0] = b.scales[2 * s];
            out.scales[s][r][1] = b.scales[2 * s + 1];
            for (int c = 0; c < 8; ++c)
                for (int i = 0; i < 4; ++i) {
                    const int v = q[32 * s + 4 * c + i];
                    uint8_t& lo = q6_low_bits(out, s, c, r, i);
                    uint8_t& hi = q6_high_bits(out, s, c, r, i);
                    lo = static_cast<uint8_t>(lo | ((v & 0xF) << (4 * (s % 2))));
                    hi = static_cast<uint8_t>(hi | ((v >> 4) << (2 * (s % 4))));
                }
        }
    }
}

template <typename Group>
void unpack_row_q6(const Group& g, int r, BlockQ6_K& b) {
    b.d = g.d[r];
    uint8_t q[256];
    for (int s = 0; s < 8; ++s) {
        b.scales[2 * s] = g.scales[s][r][0];
        b.scales[2 * s + 1] = g.scales[s][r][1];
        for (int c = 0; c < 8; ++c)
            for (int i = 0; i < 4; ++i) {
                const int lo = (q6_low_bits(g, s, c, r, i) >> (4 * (s % 2))) & 0xF;
                const int hi = (q6_high_bits(g, s, c, r, i) >> (2 * (s % 4))) & 3;
                q[32 * s + 4 * c + i] = static_cast<uint8_t>(lo | (hi << 4));
            }
    }
    q6_encode(q, b);
}

void repack_group_q6_K(const BlockQ6_K* rows[8], BlockQ6_Kx8& out) { repack_group_q6<8>(rows, out); }
void unpack_row_q6_K(const BlockQ6_Kx8& g, int r, BlockQ6_K& b) { unpack_row_q6(g, r, b); }

// --- the 16-row (AVX-512) layouts ------------------------------------------

void repack_group_q4_K16(const BlockQ4_K* rows[16], BlockQ4_Kx16& out) { repack_group_q4<16>(rows, out); }
void unpack_row_q4_K16(const BlockQ4_Kx16& g, int r, BlockQ4_K& b) { unpack_row_q4(g, r, b); }

void repack_group_q6_K16(const BlockQ6_K* rows[16], BlockQ6_Kx16& out) { repack_group_q6<16>(rows, out); }
void unpack_row_q6_K16(const BlockQ6_Kx16& g, int r, BlockQ6_K& b) { unpack_row_q6(g, r, b); }

template <typename Block, typename Group, int R, typename Repack>
void repack_typed(const std::byte* src, int64_t cols, int64_t row_begin, int64_t row_end, std::byte* dst,
                  Repack repack) {
    const int64_t blocks = cols / kQKK;
    const auto* in = reinterpret_cast<const Block*>(src);
    auto* out = reinterpret_cast<Group*>(dst);
    for (int64_t g = row_begin / R; g < row_end / R; ++g)
        for (int64_t b = 0; b < blocks; ++b) {
            const Block* rows[R];
            for (int r = 0; r < R; ++r) rows[r] = in + (R * g + r) * blocks + b;
            repack(rows, out[g * blocks + b]);
        }
}

RepackedTileFn tile_for(DType type, SimdLevel level) {
    check_level(level);
#if defined(__x86_64__)
    kernels_for(level);  // throws when this CPU cannot run it
    if (wide(level)) return type == DType::Q4_K ? &avx512::repacked_tile_q4_K : &avx512::repacked_tile_q6_K;
    return type == DType::Q4_K ? &avx2::repacked_tile_q4_K : &avx2::repacked_tile_q6_K;
#else
    (void)type;
    fail(ErrorCode::unsupported, "repacked weights: no kernels on this architecture");
#endif
}

}  // namespace

int64_t repack_group_rows(SimdLevel level) noexcept { return level == SimdLevel::avx512 ? 16 : kRepackRows; }

bool repack_supported(DType type, int64_t rows, int64_t cols, SimdLevel level) noexcept {
#if defined(__x86_64__)
    return (level == SimdLevel::avx2 || level == SimdLevel::avx512) && (type == DType::Q4_K || type == DType::Q6_K) &&
           rows > 0 && rows % repack_group_rows(level) == 0 && cols > 0 && cols % kQKK == 0 &&
           simd_level_supported(level);
#else
    (void)type, (void)rows, (void)cols, (void)level;
    return false;
#endif
}

size_t repacked_bytes(DType type, int64_t rows, int64_t cols, SimdLevel level) {
    check_shape(type, rows, cols, level);
    return static_cast<size_t>(rows / repack_group_rows(level)) * static_cast<size_t>(cols / kQKK) *
           group_block_bytes(type, level);
}

void repack_rows(DType type, const std::byte* src, int64_t cols, int64_t row_begin, int64_t row_end,
                 std::byte* dst, SimdLevel level) {
    if (row_end == row_begin) return;
    check_shape(type, row_end - row_begin, cols, level);
    if (row_begin < 0 || row_begin % repack_group_rows(level) != 0)
        fail(ErrorCode::invalid_argument, "repacked weights: row range starts at {}", row_begin);
    if (wide(level)) {
        if (type == DType::Q4_K)
            repack_typed<BlockQ4_K, BlockQ4_Kx16, 16>(src, cols, row_begin, row_end, dst, repack_group_q4_K16);
        else
            repack_typed<BlockQ6_K, BlockQ6_Kx16, 16>(src, cols, row_begin, row_end, dst, repack_group_q6_K16);
    } else if (type == DType::Q4_K) {
        repack_typed<BlockQ4_K, BlockQ4_Kx8, 8>(src, cols, row_begin, row_end, dst, repack_group_q4_K);
    } else {
        repack_typed<BlockQ6_K, BlockQ6_Kx8, 8>(src, cols, row_begin, row_end, dst, repack_group_q6_K);
    }
}

void dequantize_repacked_row(DType type, const std::byte* packed, int64_t cols, int64_t row, float* out,
                             SimdLevel level) {
    const int64_t rows = repack_group_rows(level);
    check_shape(type, rows, cols, level);
    const int64_t blocks = cols / kQKK;
    const int64_t g = row / rows;
    const int r = static_cast<int>(row % rows);
    for (int64_t b = 0; b < blocks; ++b) {
        const std::byte* group = packed + static_cast<size_t>(g * blocks + b) * group_block_bytes(type, level);
        if (type == DType::Q4_K) {
            BlockQ4_K block;
            if (wide(level))
                unpack_row_q4_K16(*reinterpret_cast<const BlockQ4_Kx16*>(group), r, block);
            else
                unpack_row_q4_K(*reinterpret_cast<const BlockQ4_Kx8*>(group), r, block);
            quant::dequantize_row(type, &block, out + b * kQKK, kQKK);
        } else {
            BlockQ6_K block;
            if (wide(level))
                unpack_row_q6_K16(*reinterpret_cast<const BlockQ6_Kx16*>(group), r, block);
            else
                unpack_row_q6_K(*reinterpret_cast<const BlockQ6_Kx8*>(group), r, block);
            quant::dequantize_row(type, &block, out + b * kQKK, kQKK);
        }
    }
}

void matmul_repacked(const RepackedWeight& w, const std::byte* act, int64_t t, float* y, SimdLevel level) {
    check_shape(w.type, w.rows, w.cols, level);
    if (t <= 0) return;
    if (w.data == nullptr || act == nullptr || y == nullptr)
        fail(ErrorCode::invalid_argument, "repacked matmul: null weight, activation or output");
    const RepackedTileFn tile = tile_for(w.type, level);
    const size_t act_row_bytes = activation_row_bytes(w.type, w.cols);
    const int64_t group_rows = repack_group_rows(level);
    const size_t group_bytes = static_cast<size_t>(w.cols / kQKK) * group_block_bytes(w.type, level);
    const int64_t groups = w.rows / group_rows;
    // Groups per task: a few tasks per thread so a core stalled by the
    // shared machine is balanced by the other; results do not depend on it.
    const int64_t threads = std::max(1, tbb::this_task_arena::max_concurrency());
    const int64_t tasks_wanted = threads == 1 ? 1 : threads * (t == 1 ? 4 : 8);
    const int64_t chunk = std::max<int64_t>(1, (groups + tasks_wanted - 1) / tasks_wanted);
    const int64_t tasks = (groups + chunk - 1) / chunk;
    auto run = [&](int64_t task) {
        const int64_t g0 = task * chunk;
        const int64_t n = std::min(chunk, groups - g0);
        tile(w.cols, w.data + static_cast<size_t>(g0) * group_bytes, n, act, act_row_bytes, t, y + group_rows * g0,
             w.rows);
    };
    if (tasks == 1) {
        run(0);
        return;
    }
    tbb::parallel_for(
        tbb::blocked_range<int64_t>(0, tasks, 1),
        [&](const tbb::blocked_range<int64_t>& r) {
            for (int64_t task = r.begin(); task < r.end(); ++task) run(task);
        },
        tbb::simple_partitioner());
}

void matmul_repacked_many(std::span<const RepackedWeight> ws, const std::byte* act, int64_t t,
                          std::span<float* const> ys, SimdLevel level) {
    if (t <= 0 || ws.empty()) return;
    if (ws.size() != ys.size()) fail(ErrorCode::invalid_argument, "repacked matmul: {} weights, {} outputs", ws.size(), ys.size());
    const int64_t group_rows = repack_group_rows(level);
    int64_t total_groups = 0;
    for (const RepackedWeight& w : ws) {
        check_shape(w.type, w.rows, w.cols, level);
        if (w.data == nullptr || act == nullptr) fail(ErrorCode::invalid_argument, "repacked matmul: null weight or activation");
        if (w.cols != ws[0].cols || activation_type(w.type) != activation_type(ws[0].type))
            fail(ErrorCode::invalid_argument, "repacked matmul: weights sharing activations need the same columns and activation type");
        total_groups += w.rows / group_rows;
    }
    for (float* y : ys)
        if (y == nullptr) fail(ErrorCode::invalid_argument, "repacked matmul: null output");
    const size_t act_row_bytes = activation_row_bytes(ws[0].type, ws[0].cols);
    // Tasks as matmul_repacked's, sized over all the weights' groups (a task
    // stays within one weight); results do not depend on the split.
    const int64_t threads = std::max(1, tbb::this_task_arena::max_concurrency());
    const int64_t tasks_wanted = threads == 1 ? 1 : threads * (t == 1 ? 4 : 8);
    const int64_t chunk = std::max<int64_t>(1, (total_groups + tasks_wanted - 1) / tasks_wanted);
    struct Task {
        size_t weight;
        int64_t g0, n;
    };
    std::vector<Task> tasks;
    for (size_t i = 0; i < ws.size(); ++i) {
        const int64_t groups = ws[i].rows / group_rows;
        for (int64_t g0 = 0; g0 < groups; g0 += chunk) tasks.push_back({i, g0, std::min(chunk, groups - g0)});
    }
    auto run = [&](const Task& task) {
        const RepackedWeight& w = ws[task.weight];
        const size_t group_bytes = static_cast<size_t>(w.cols / kQKK) * group_block_bytes(w.type, level);
        tile_for(w.type, level)(w.cols, w.data + static_cast<size_t>(task.g0) * group_bytes, task.n, act, act_row_bytes, t,
                                ys[task.weight] + group_rows * task.g0, w.rows);
    };
    if (tasks.size() == 1) {
        run(tasks[0]);
        return;
    }
    tbb::parallel_for(
        tbb::blocked_range<size_t>(0, tasks.size(), 1),
        [&](const tbb::blocked_range<size_t>& r) {
            for (size_t i = r.begin(); i < r.end(); ++i) run(tasks[i]);
        },
        tbb::simple_partitioner());
}

void matmul_repacked_f32(const RepackedWeight& w, const float* x, int64_t t, float* y, SimdLevel level) {
    check_shape(w.type, w.rows, w.cols, level);
    if (t <= 0) return;
    if (x == nullptr) fail(ErrorCode::invalid_argument, "repacked matmul: null input");
    with_quantized_activations(w.type, x, t, w.cols, level,
                               [&](const std::byte* act) { matmul_repacked(w, act, t, y, level); });
}

}  // namespace apr::cpu
