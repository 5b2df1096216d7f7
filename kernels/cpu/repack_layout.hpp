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

// The AVX-512 layouts: 16 rows per group, so one 64-byte register holds 4
// values of each of 16 rows (vpdpbusd with the token's 4 activation bytes
// broadcast from memory gives each row's partial sum in its own lane).
// The quants are stored in the order the kernel reads them.
struct BlockQ4_Kx16 {
    uint16_t d[16];
    uint16_t dmin[16];
    uint8_t scales[8][16];     // [set][row]
    uint8_t mins[8][16];       // [set][row]
    uint8_t qs[4][8][16][4];   // [set pair][chunk][row][value], low nibble = set 2p
};

struct BlockQ6_Kx16 {
    uint16_t d[16];
    int8_t scales[8][16][2];   // [set][row][first, second 16 values]
    // per set quad h (sets 4h..4h+3): ql of set pairs 2h and 2h+1, then qh
    struct Quad {
        uint8_t ql[2][8][16][4];  // [pair in quad][chunk][row][value], low nibble = even set
        uint8_t qh[8][16][4];     // [chunk][row][value], bits 2i..2i+1 = set 4h+i
    } quad[2];
};

static_assert(sizeof(BlockQ4_Kx16) == 2368);
static_assert(sizeof(BlockQ6_Kx16) == 3360);

// Kernels over `ngroups` consecutive groups of 8 (AVX2) or 16 (AVX-512) rows (each cols / 256 group
// blocks, starting at w) and `ntok` activation rows (Q8_K, act_row_bytes
// apart): y[t * y_stride + R g + r] for row r of group g (R rows per group).
// (One function type, so each ISA's kernels are declared by name below.)
using RepackedTile = void(int64_t cols, const std::byte* w, int64_t ngroups, const std::byte* act, size_t act_row_bytes,
                          int64_t ntok, float* y, int64_t y_stride);
using RepackedTileFn = RepackedTile*;

namespace avx2 {
RepackedTile repacked_tile_q4_K, repacked_tile_q6_K;
}  // namespace avx2

namespace avx512 {
RepackedTile repacked_tile_q4_K, repacked_tile_q6_K;
}  // namespace avx512

}  // namespace apr::cpu
