// GGUF's quantized block layouts, byte for byte (little-endian). A tensor of
// one of these types is an array of blocks, row after row; every row holds a
// whole number of blocks. Scales are IEEE half floats stored as raw bits.
#pragma once

#include <cstdint>

namespace apr::quant {

constexpr int kQK = 32;   // values per block of the "legacy" types
constexpr int kQKK = 256; // values per super-block of the K types

struct BlockQ4_0 {        // x = d * (q - 8), q in 0..15
    uint16_t d;
    uint8_t qs[kQK / 2];  // low nibbles: values 0..15, high nibbles: values 16..31
};
struct BlockQ4_1 {        // x = d * q + m
    uint16_t d;
    uint16_t m;
    uint8_t qs[kQK / 2];
};
struct BlockQ5_0 {        // x = d * (q - 16), q = nibble | (bit of qh) << 4
    uint16_t d;
    uint8_t qh[4];
    uint8_t qs[kQK / 2];
};
struct BlockQ5_1 {        // x = d * q + m
    uint16_t d;
    uint16_t m;
    uint8_t qh[4];
    uint8_t qs[kQK / 2];
};
struct BlockQ8_0 {        // x = d * q
    uint16_t d;
    int8_t qs[kQK];
};
struct BlockQ8_1 {        // x = d * q; s = d * sum(q), for Q4_1/Q5_1 dot products
    uint16_t d;
    uint16_t s;
    int8_t qs[kQK];
};
struct BlockQ4_K {        // 8 sub-blocks of 32: x = d * sc * q - dmin * m, 6-bit sc and m
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[12];
    uint8_t qs[kQKK / 2];
};
struct BlockQ5_K {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[12];
    uint8_t qh[kQKK / 8];
    uint8_t qs[kQKK / 2];
};
struct BlockQ6_K {        // 16 sub-blocks of 16: x = d * scale * (q - 32)
    uint8_t ql[kQKK / 2];
    uint8_t qh[kQKK / 4];
    int8_t scales[kQKK / 16];
    uint16_t d;
};
struct BlockQ8_K {        // activations for K-quant dot products; d is a float
    float d;
    int8_t qs[kQKK];
    int16_t bsums[kQKK / 16];  // sums of each group of 16 qs
};

static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ8_1) == 36);
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockQ6_K) == 210);
static_assert(sizeof(BlockQ8_K) == 292);

}  // namespace apr::quant
