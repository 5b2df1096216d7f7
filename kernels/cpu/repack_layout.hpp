// Internal: the group blocks of the repacked layouts (described in
// repack.hpp), shared by the portable repacker and the ISA kernels.
#pragma once

#include <cstddef>
#include <cstdint>

namespace apr::cpu {

struct BlockQ4_Kx8 {
    uint16_t d[8];
    uint16_t dmin[8];
    uint8_t scales[8][8];   // [set][row]
    uint8_t mins[8][8];     // [set][row]
    uint8_t qs[4][8][8][4]; // [set pair][chunk][row][value]
};

struct BlockQ6_Kx8 {
    uint16_t d[8];
    int8_t scales[8][8][2];  // [set][row][first, second 16 values]
    uint8_t ql[4][8][8][4];  // [set pair][chunk][row][value]
    uint8_t qh[2][8][8][4];  // [set quad][chunk][row][value]
};

static_assert(sizeof(BlockQ4_Kx8) == 1184);
static_assert(sizeof(BlockQ6_Kx8) == 1680);

// Kernels over `ngroups` consecutive groups of 8 rows (each cols / 256 group
// blocks, starting at w) and `ntok` activation rows (Q8_K, act_row_bytes
// apart): y[t * y_stride + 8 g + r] for row r of group g.
using RepackedTileFn = void (*)(int64_t cols, const std::byte* w, int64_t ngroups, const std::byte* act,
                                size_t act_row_bytes, int64_t ntok, float* y, int64_t y_stride);

namespace avx2 {
void repacked_tile_q4_K(int64_t cols, const std::byte* w, int64_t ngroups, const std::byte* act,
                        size_t act_row_bytes, int64_t ntok, float* y, int64_t y_stride);
void repacked_tile_q6_K(int64_t cols, const std::byte* w, int64_t ngroups, const std::byte* act,
                        size_t act_row_bytes, int64_t ntok, float* y, int64_t y_stride);
}  // namespace avx2

}  // namespace apr::cpu
