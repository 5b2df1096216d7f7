// Weights repacked at load time into a row-interleaved layout for the AVX2
// and AVX-512 kernels (the files on disk are unchanged; the backend repacks its own copy).
//
// Why: in the file's layout each row's super-block is a self-contained 144
// (Q4_K) or 210 (Q6_K) bytes; a kernel reading one row at a time must unpack
// the 6-bit scales and reduce 8 int32 lanes to one number per row and
// super-block. Here 8 consecutive rows share one group block, their bytes
// interleaved 4 values at a time, so one 256-bit register holds 4 values of
// each of the 8 rows: vpmaddubsw with 4 broadcast activation bytes gives each
// row's partial sums in its own 32-bit lane, the sub-block scales are plain
// bytes ready to widen, and one FMA per super-block finishes 8 rows at once.
//
// Layouts (one group = 8 rows x one 256-value super-block; `set` s = values
// [32 s, 32 s + 32) of a row, `chunk` c = values [4 c, 4 c + 4) of a set):
//
//   Q4_K x8 (1184 bytes, 148 per row-super-block, +2.8% over the file's 144):
//     uint16 d[8], dmin[8]              f16 per row
//     uint8  scales[8 sets][8 rows]     6-bit scale of each set, unpacked
//     uint8  mins[8 sets][8 rows]       6-bit min of each set, unpacked
//     uint8  qs[4 pairs][8 chunks][8 rows][4]
//            byte: low nibble = set 2p value 4c+i, high nibble = set 2p+1
//   Q6_K x8 (1680 bytes, 210 per row-super-block, as in the file):
//     uint16 d[8]
//     int8   scales[8 sets][8 rows][2]  the two 16-value scales of each set
//     uint8  ql[4 pairs][8 chunks][8 rows][4]   low 4 bits, nibbles as Q4_K
//     uint8  qh[2 quads][8 chunks][8 rows][4]   bits 4-5 of sets 4h..4h+3,
//                                               2 bits each, set 4h lowest
//
// A repacked matrix is `rows / 8` groups of `cols / 256` group blocks each,
// group-major. Repacking needs rows % 8 == 0 and cols % 256 == 0.
//
// The AVX-512 level has its own layouts (repack_layout.hpp): 16 rows per
// group, so one 64-byte register holds 4 values of each of 16 rows and
// vpdpbusd with the token's 4 activation bytes broadcast from memory gives
// each row's partial sums in its own 32-bit lane.
//   Q4_K x16 (2368 bytes, 148 per row-super-block): as Q4_K x8 with 16 rows.
//   Q6_K x16 (3360 bytes, 210 per row-super-block): d, scales as x8 with 16
//     rows, then per set quad (sets 4h..4h+3) the low bits of its two set
//     pairs and its high bits, in the order the kernel reads them.
// Which layout a repacked matrix has is fixed by the level it was repacked
// for; every function below takes that level.
//
// Numerics: the integer sums per sub-block are exact and identical to the
// file-layout kernels'; the float work per super-block is the scalar
// reference's (d_w * d_a * isum added, then dmin_w * d_a * min_sum
// subtracted for Q4_K, in that order, no FMA), so every output equals the
// scalar level's vec_dot bit for bit - hence also bit-identical for any T
// and any thread count (each output is computed by one task).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "apr/dtype.hpp"
#include "cpu/cpu_features.hpp"

namespace apr::cpu {

constexpr int64_t kRepackRows = 8;

// Rows per group of `level`'s layout: 8 (AVX2) or 16 (AVX-512).
int64_t repack_group_rows(SimdLevel level) noexcept;

// Whether a rows x cols matrix of `type` can be repacked for `level`'s
// kernels (Q4_K and Q6_K at the AVX2 and AVX-512 levels, rows a multiple of
// repack_group_rows(level), on a CPU that runs the level).
bool repack_supported(DType type, int64_t rows, int64_t cols, SimdLevel level) noexcept;

// Bytes of the repacked matrix (the same as the file's for Q6_K, 148/144 of
// it for Q4_K).
size_t repacked_bytes(DType type, int64_t rows, int64_t cols, SimdLevel level);

// Repacks rows [row_begin, row_end) (multiples of repack_group_rows(level))
// of the file-layout matrix `src` (rows of dtype_bytes(type, cols) bytes,
// starting at row 0) into `dst` (the whole repacked matrix,
// repacked_bytes(...) bytes). Ranges are independent, so callers may repack
// in parallel and in slices.
void repack_rows(DType type, const std::byte* src, int64_t cols, int64_t row_begin, int64_t row_end,
                 std::byte* dst, SimdLevel level);

// Dequantizes row `row` of a repacked matrix to cols floats (for embedding
// lookups from a repacked table); equals dequantize_row of the file's row.
void dequantize_repacked_row(DType type, const std::byte* packed, int64_t cols, int64_t row, float* out,
                             SimdLevel level);

struct RepackedWeight {
    DType type;
    const std::byte* data;  // repacked_bytes(type, rows, cols) bytes
    int64_t rows;
    int64_t cols;
};

// y[t, n] = sum_k W[n, k] x[t, k] from repacked weights, x given as t rows of
// activations quantized for `type` (quantize_activations, Q8_K). Threads as
// apr::cpu::matmul (the calling thread's TBB arena). `level` must be one the
// weight was repacked for.
void matmul_repacked(const RepackedWeight& w, const std::byte* act, int64_t t, float* y, SimdLevel level);

// matmul_repacked of several weights over the same activations (the same
// cols and activation type: q/k/v, gate/up) in one parallel region instead
// of one each: ys[i] = ws[i] x act, the bits of separate calls.
void matmul_repacked_many(std::span<const RepackedWeight> ws, const std::byte* act, int64_t t,
                          std::span<float* const> ys, SimdLevel level);

// The same from f32 input (quantized once, into the calling thread's scratch).
void matmul_repacked_f32(const RepackedWeight& w, const float* x, int64_t t, float* y, SimdLevel level);

}  // namespace apr::cpu
