#include "quant/quantize.hpp"

#include <cmath>
#include <cstring>

#include "core/fail.hpp"
#include "quant/row_args.hpp"
#include "core/half.hpp"
#include "quant/blocks.hpp"
#include "quant/quantize_k.hpp"
#include "quant/rounding.hpp"

namespace apr::quant {
namespace {

// Blocks are built in a local struct and copied out: dst rows of 18- or
// 22-byte blocks are not aligned for the struct's 16-bit fields.
template <typename Block>
void store_block(std::byte* dst, int64_t index, const Block& block) {
    std::memcpy(dst + index * static_cast<int64_t>(sizeof(Block)), &block, sizeof(Block));
}

void quantize_f32(const float* src, std::byte* dst, int64_t n) {
    std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
}

void quantize_f16(const float* src, std::byte* dst, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        const uint16_t h = f32_to_f16(src[i]);
        std::memcpy(dst + 2 * i, &h, 2);
    }
}

void quantize_bf16(const float* src, std::byte* dst, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        const uint16_t b = f32_to_bf16(src[i]);
        std::memcpy(dst + 2 * i, &b, 2);
    }
}

// ggml's MAX(a, b) is `a > b ? a : b`; keeping that exact form keeps the
// result for NaN inputs the same as llama.cpp's too.
float ggml_max(float a, float b) { return a > b ? a : b; }

// The largest |x| of a block, as llama.cpp's Q8_0/Q8_1 reference computes it.
float block_amax(const float* x, int n) {
    float amax = 0.0f;
    for (int j = 0; j < n; ++j) amax = ggml_max(amax, std::fabs(x[j]));
    return amax;
}

// --- Activation quantizers: byte-exact with llama.cpp's *_ref functions. ---

// d = amax / 127, q = roundf(x / d) (half away from zero), d stored as f16.
// The multiplier is 1/d computed in f32, not 127/amax: the two differ in the
// last bit for some amax and so do the rounded q.
void quantize_q8_0(const float* x, std::byte* dst, int64_t blocks) {
    for (int64_t b = 0; b < blocks; ++b, x += kQK) {
        BlockQ8_0 block;
        const float d = block_amax(x, kQK) / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        block.d = f32_to_f16(d);
        for (int j = 0; j < kQK; ++j) block.qs[j] = round_away_to_int8(x[j] * id);
        store_block(dst, b, block);
    }
}

// As Q8_0, plus s = f16(d * sum(q)) with the f32 (not f16) d.
void quantize_q8_1(const float* x, std::byte* dst, int64_t blocks) {
    for (int64_t b = 0; b < blocks; ++b, x += kQK) {
        BlockQ8_1 block;
        const float d = block_amax(x, kQK) / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        block.d = f32_to_f16(d);
        int sum = 0;
        for (int j = 0; j < kQK; ++j) {
            block.qs[j] = round_away_to_int8(x[j] * id);
            sum += block.qs[j];
        }
        block.s = f32_to_f16(static_cast<float>(sum) * d);
        store_block(dst, b, block);
    }
}

// Q8_K: `max` is the value with the largest |x| (the first one on ties, sign
// kept); iscale = -127 / max, q = nearest_int(iscale * x) (half to even),
// capped at 127; d = 1 / iscale (an f32, so d is negative when max > 0).
// bsums[i] = sum of qs[16i .. 16i+15]. An all-zero block gets d = 0, qs = 0
// and, unlike llama.cpp (which leaves them unwritten), bsums = 0.
void quantize_q8_k(const float* x, std::byte* dst, int64_t blocks) {
    for (int64_t b = 0; b < blocks; ++b, x += kQKK) {
        BlockQ8_K block;
        float max = 0.0f;
        float amax = 0.0f;
        for (int j = 0; j < kQKK; ++j) {
            const float ax = std::fabs(x[j]);
            if (ax > amax) {
                amax = ax;
                max = x[j];
            }
        }
        if (amax == 0.0f) {
            std::memset(&block, 0, sizeof(block));
            store_block(dst, b, block);
            continue;
        }
        const float iscale = -127.f / max;
        for (int j = 0; j < kQKK; ++j) {
            const int v = nearest_int(iscale * x[j]);
            block.qs[j] = static_cast<int8_t>(v < 127 ? (v > -128 ? v : -128) : 127);
        }
        for (int g = 0; g < kQKK / 16; ++g) {
            int sum = 0;
            for (int j = 0; j < 16; ++j) sum += block.qs[16 * g + j];
            block.bsums[g] = static_cast<int16_t>(sum);
        }
        block.d = 1 / iscale;
        store_block(dst, b, block);
    }
}

// --- Legacy weight quantizers (llama.cpp's reference formulas). ---

// The value with the largest |x| maps to q = 0 exactly: d = max / -8, so the
// grid d * (q - 8) spans [-8d, 7d] with the extreme on the wide side.
void quantize_q4_0(const float* x, std::byte* dst, int64_t blocks) {
    for (int64_t b = 0; b < blocks; ++b, x += kQK) {
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < kQK; ++j)
            if (amax < std::fabs(x[j])) {
                amax = std::fabs(x[j]);
                max = x[j];
            }
        const float d = max / -8;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        BlockQ4_0 block;
        block.d = f32_to_f16(d);
        for (int j = 0; j < kQK / 2; ++j) {
            const int lo = truncate_clamped(x[j] * id + 8.5f, 15);
            const int hi = truncate_clamped(x[j + kQK / 2] * id + 8.5f, 15);
            block.qs[j] = static_cast<uint8_t>(lo | hi << 4);
        }
        store_block(dst, b, block);
    }
}

// Same as Q4_0 with 5 bits: d = max / -16, q in 0..31, bit 4 of value j in bit j of qh.
void quantize_q5_0(const float* x, std::byte* dst, int64_t blocks) {
    for (int64_t b = 0; b < blocks; ++b, x += kQK) {
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < kQK; ++j)
            if (amax < std::fabs(x[j])) {
                amax = std::fabs(x[j]);
                max = x[j];
            }
        const float d = max / -16;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        BlockQ5_0 block;
        block.d = f32_to_f16(d);
        uint32_t qh = 0;
        for (int j = 0; j < kQK / 2; ++j) {
            const int lo = truncate_clamped(x[j] * id + 16.5f, 31);
            const int hi = truncate_clamped(x[j + kQK / 2] * id + 16.5f, 31);
            block.qs[j] = static_cast<uint8_t>((lo & 0x0f) | (hi & 0x0f) << 4);
            qh |= static_cast<uint32_t>(lo >> 4) << j;
            qh |= static_cast<uint32_t>(hi >> 4) << (j + kQK / 2);
        }
        for (int k = 0; k < 4; ++k) block.qh[k] = static_cast<uint8_t>(qh >> (8 * k));
        store_block(dst, b, block);
    }
}

// Affine grids: m = min(x), d = (max - min) / levels, q = round half up.
struct MinMax {
    float min, max;
};
MinMax block_min_max(const float* x, int n) {
    MinMax r{x[0], x[0]};
    for (int j = 1; j < n; ++j) {
        if (x[j] < r.min) r.min = x[j];
        if (x[j] > r.max) r.max = x[j];
    }
    return r;
}

void quantize_q4_1(const float* x, std::byte* dst, int64_t blocks) {
    for (int64_t b = 0; b < blocks; ++b, x += kQK) {
        const MinMax mm = block_min_max(x, kQK);
        const float d = (mm.max - mm.min) / 15;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        BlockQ4_1 block;
        block.d = f32_to_f16(d);
        block.m = f32_to_f16(mm.min);
        for (int j = 0; j < kQK / 2; ++j) {
            const int lo = truncate_clamped((x[j] - mm.min) * id + 0.5f, 15);
            const int hi = truncate_clamped((x[j + kQK / 2] - mm.min) * id + 0.5f, 15);
            block.qs[j] = static_cast<uint8_t>(lo | hi << 4);
        }
        store_block(dst, b, block);
    }
}

void quantize_q5_1(const float* x, std::byte* dst, int64_t blocks) {
    for (int64_t b = 0; b < blocks; ++b, x += kQK) {
        const MinMax mm = block_min_max(x, kQK);
        const float d = (mm.max - mm.min) / 31;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        BlockQ5_1 block;
        block.d = f32_to_f16(d);
        block.m = f32_to_f16(mm.min);
        uint32_t qh = 0;
        for (int j = 0; j < kQK / 2; ++j) {
            const int lo = truncate_clamped((x[j] - mm.min) * id + 0.5f, 31);
            const int hi = truncate_clamped((x[j + kQK / 2] - mm.min) * id + 0.5f, 31);
            block.qs[j] = static_cast<uint8_t>((lo & 0x0f) | (hi & 0x0f) << 4);
            qh |= static_cast<uint32_t>(lo >> 4) << j;
            qh |= static_cast<uint32_t>(hi >> 4) << (j + kQK / 2);
        }
        for (int k = 0; k < 4; ++k) block.qh[k] = static_cast<uint8_t>(qh >> (8 * k));
        store_block(dst, b, block);
    }
}

}  // namespace

bool can_quantize(DType type) noexcept { return is_convertible(type); }

size_t quantize_row(DType type, const float* src, void* dst, int64_t n) {
    const DTypeInfo* info = &check_row_args("quantize_row", type, n, src, dst);
    if (n == 0) return 0;
    auto* out = static_cast<std::byte*>(dst);
    const int64_t blocks = n / info->block_elements;
    switch (type) {
        case DType::F32: quantize_f32(src, out, n); break;
        case DType::F16: quantize_f16(src, out, n); break;
        case DType::BF16: quantize_bf16(src, out, n); break;
        case DType::Q4_0: quantize_q4_0(src, out, blocks); break;
        case DType::Q4_1: quantize_q4_1(src, out, blocks); break;
        case DType::Q5_0: quantize_q5_0(src, out, blocks); break;
        case DType::Q5_1: quantize_q5_1(src, out, blocks); break;
        case DType::Q8_0: quantize_q8_0(src, out, blocks); break;
        case DType::Q8_1: quantize_q8_1(src, out, blocks); break;
        case DType::Q4_K: quantize_q4_k(src, out, blocks); break;
        case DType::Q5_K: quantize_q5_k(src, out, blocks); break;
        case DType::Q6_K: quantize_q6_k(src, out, blocks); break;
        case DType::Q8_K: quantize_q8_k(src, out, blocks); break;
        default: fail(ErrorCode::internal, "quantize_row: type {} passed the check but has no case", info->name);
    }
    return static_cast<size_t>(blocks) * info->block_bytes;
}

}  // namespace apr::quant
