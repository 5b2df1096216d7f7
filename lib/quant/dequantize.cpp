#include "quant/dequantize.hpp"

#include <cstring>

#include "core/fail.hpp"
#include "quant/row_args.hpp"
#include "core/half.hpp"
#include "quant/blocks.hpp"
#include "quant/k_scales.hpp"

namespace apr::quant {
namespace {

// Blocks are copied out with memcpy: rows of 18-, 22- or 210-byte blocks put
// most blocks at odd addresses, and reading a struct through a misaligned
// pointer is undefined behaviour.
template <typename Block>
Block load_block(const std::byte* src, int64_t index) {
    Block block;
    std::memcpy(&block, src + index * static_cast<int64_t>(sizeof(Block)), sizeof(Block));
    return block;
}

uint32_t load_u32(const uint8_t bytes[4]) {
    return static_cast<uint32_t>(bytes[0]) | static_cast<uint32_t>(bytes[1]) << 8 |
           static_cast<uint32_t>(bytes[2]) << 16 | static_cast<uint32_t>(bytes[3]) << 24;
}

void dequantize_f32(const std::byte* src, float* dst, int64_t n) {
    std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
}

void dequantize_f16(const std::byte* src, float* dst, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        dst[i] = f16_to_f32(h);
    }
}

void dequantize_bf16(const std::byte* src, float* dst, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        uint16_t b;
        std::memcpy(&b, src + 2 * i, 2);
        dst[i] = bf16_to_f32(b);
    }
}

// x = d * (q - 8); the low nibble of byte j is value j, the high nibble value j + 16.
void dequantize_q4_0(const std::byte* src, float* dst, int64_t blocks) {
    for (int64_t b = 0; b < blocks; ++b, dst += kQK) {
        const auto block = load_block<BlockQ4_0>(src, b);
        const float d = f16_to_f32(block.d);
        for (int j = 0; j < kQK / 2; ++j) {
            dst[j] = static_cast<float>((block.qs[j] & 0x0f) - 8) * d;
            dst[j + kQK / 2] = static_cast<float>((block.qs[j] >> 4) - 8) * d;
        }
    }
}

// x = d * q + m, nibbles as in Q4_0.
void dequantize_q4_1(const std::byte* src, float* dst, int64_t blocks) {
    for (int64_t b = 0; b < blocks; ++b, dst += kQK) {
        const auto block = load_block<BlockQ4_1>(src, b);
        const float d = f16_to_f32(block.d);
        const float m = f16_to_f32(block.m);
        for (int j = 0; j < kQK / 2; ++j) {
            dst[j] = static_cast<float>(block.qs[j] & 0x0f) * d + m;
            dst[j + kQK / 2] = static_cast<float>(block.qs[j] >> 4) * d + m;
        }
    }
}

// Fifth bit of value j is bit j of the little-endian 32-bit qh.
int q5_value(const uint8_t* qs, uint32_t qh, int j) {
    const int nibble = j < kQK / 2 ? (qs[j] & 0x0f) : (qs[j - kQK / 2] >> 4);
    return nibble | static_cast<int>(((qh >> j) & 1u) << 4);
}

// x = d * (q - 16)
void dequantize_q5_0(const std::byte* src, float* dst, int64_t blocks) {
    for (int64_t b = 0; b < blocks; ++b, dst += kQK) {
        const auto block = load_block<BlockQ5_0>(src, b);
        const float d = f16_to_f32(block.d);
        const uint32_t qh = load_u32(block.qh);
        for (int j = 0; j < kQK; ++j) dst[j] = static_cast<float>(q5_value(block.qs, qh, j) - 16) * d;
    }
}

// x = d * q + m
void dequantize_q5_1(const std::byte* src, float* dst, int64_t blocks) {
    for (int64_t b = 0; b < blocks; ++b, dst += kQK) {
        const auto block = load_block<BlockQ5_1>(src, b);
        const float d = f16_to_f32(block.d);
        const float m = f16_to_f32(block.m);
        const uint32_t qh = load_u32(block.qh);
        for (int j = 0; j < kQK; ++j) dst[j] = static_cast<float>(q5_value(block.qs, qh, j)) * d + m;
    }
}

void dequantize_q8_0(const std::byte* src, float* dst, int64_t blocks) {
    for (int64_t b = 0; b < blocks; ++b, dst += kQK) {
        const auto block = load_block<BlockQ8_0>(src, b);
        const float d = f16_to_f32(block.d);
        for (int j = 0; j < kQK; ++j) dst[j] = static_cast<float>(block.qs[j]) * d;
    }
}

// Q8_1's s field is redundant (d * sum q) and plays no part in the values.
void dequantize_q8_1(const std::byte* src, float* dst, int64_t blocks) {
    for (int64_t b = 0; b < blocks; ++b, dst += kQK) {
        const auto block = load_block<BlockQ8_1>(src, b);
        const float d = f16_to_f32(block.d);
        for (int j = 0; j < kQK; ++j) dst[j] = static_cast<float>(block.qs[j]) * d;
    }
}

// Eight sub-blocks of 32. Each 32-byte run of qs holds two sub-blocks: low
// nibbles are sub-block 2i, high nibbles sub-block 2i + 1.
// x = (d * sc) * q - (dmin * m).
void dequantize_q4_k(const std::byte* src, float* dst, int64_t blocks) {
    for (int64_t b = 0; b < blocks; ++b) {
        const auto block = load_block<BlockQ4_K>(src, b);
        const float d = f16_to_f32(block.d);
        const float dmin = f16_to_f32(block.dmin);
        const uint8_t* q = block.qs;
        for (int sub = 0; sub < 8; sub += 2, q += 32) {
            const ScaleMin lo = unpack_scale_min_k4(block.scales, sub);
            const ScaleMin hi = unpack_scale_min_k4(block.scales, sub + 1);
            const float d_lo = d * static_cast<float>(lo.scale), m_lo = dmin * static_cast<float>(lo.min);
            const float d_hi = d * static_cast<float>(hi.scale), m_hi = dmin * static_cast<float>(hi.min);
            for (int l = 0; l < 32; ++l) *dst++ = d_lo * static_cast<float>(q[l] & 0x0f) - m_lo;
            for (int l = 0; l < 32; ++l) *dst++ = d_hi * static_cast<float>(q[l] >> 4) - m_hi;
        }
    }
}

// As Q4_K plus a fifth bit: for the sub-block pair (2i, 2i + 1), bit 2i of
// qh[l] belongs to value l of sub-block 2i and bit 2i + 1 to value l of 2i + 1.
void dequantize_q5_k(const std::byte* src, float* dst, int64_t blocks) {
    for (int64_t b = 0; b < blocks; ++b) {
        const auto block = load_block<BlockQ5_K>(src, b);
        const float d = f16_to_f32(block.d);
        const float dmin = f16_to_f32(block.dmin);
        const uint8_t* ql = block.qs;
        for (int sub = 0; sub < 8; sub += 2, ql += 32) {
            const ScaleMin lo = unpack_scale_min_k4(block.scales, sub);
            const ScaleMin hi = unpack_scale_min_k4(block.scales, sub + 1);
            const float d_lo = d * static_cast<float>(lo.scale), m_lo = dmin * static_cast<float>(lo.min);
            const float d_hi = d * static_cast<float>(hi.scale), m_hi = dmin * static_cast<float>(hi.min);
            const uint8_t bit_lo = static_cast<uint8_t>(1u << sub), bit_hi = static_cast<uint8_t>(2u << sub);
            for (int l = 0; l < 32; ++l)
                *dst++ = d_lo * static_cast<float>((ql[l] & 0x0f) + ((block.qh[l] & bit_lo) ? 16 : 0)) - m_lo;
            for (int l = 0; l < 32; ++l)
                *dst++ = d_hi * static_cast<float>((ql[l] >> 4) + ((block.qh[l] & bit_hi) ? 16 : 0)) - m_hi;
        }
    }
}

// Two halves of 128 values, each from 64 bytes of ql and 32 of qh. In a half,
// value l + 32 * k (k = 0..3, l = 0..31) takes its low 4 bits from
// ql[l + 32 * (k & 1)] (low nibble for k < 2, high for k >= 2) and its top 2
// bits from bits 2k..2k+1 of qh[l]; its scale is scales[8 * half + 2 * k + l / 16].
// x = d * scale * (q - 32).
void dequantize_q6_k(const std::byte* src, float* dst, int64_t blocks) {
    for (int64_t b = 0; b < blocks; ++b) {
        const auto block = load_block<BlockQ6_K>(src, b);
        const float d = f16_to_f32(block.d);
        for (int half = 0; half < 2; ++half) {
            const uint8_t* ql = block.ql + 64 * half;
            const uint8_t* qh = block.qh + 32 * half;
            const int8_t* sc = block.scales + 8 * half;
            float* y = dst + 128 * half;
            for (int l = 0; l < 32; ++l) {
                const int is = l / 16;
                const int q1 = ((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = ((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l] = d * static_cast<float>(sc[is]) * static_cast<float>(q1);
                y[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
                y[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
                y[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
            }
        }
        dst += kQKK;
    }
}

void dequantize_q8_k(const std::byte* src, float* dst, int64_t blocks) {
    for (int64_t b = 0; b < blocks; ++b, dst += kQKK) {
        const auto block = load_block<BlockQ8_K>(src, b);
        for (int j = 0; j < kQKK; ++j) dst[j] = block.d * static_cast<float>(block.qs[j]);
    }
}

}  // namespace

bool can_dequantize(DType type) noexcept { return is_convertible(type); }

void dequantize_row(DType type, const void* src, float* dst, int64_t n) {
    const DTypeInfo* info = &check_row_args("dequantize_row", type, n, src, dst);
    if (n == 0) return;
    const auto* bytes = static_cast<const std::byte*>(src);
    const int64_t blocks = n / info->block_elements;
    switch (type) {
        case DType::F32: return dequantize_f32(bytes, dst, n);
        case DType::F16: return dequantize_f16(bytes, dst, n);
        case DType::BF16: return dequantize_bf16(bytes, dst, n);
        case DType::Q4_0: return dequantize_q4_0(bytes, dst, blocks);
        case DType::Q4_1: return dequantize_q4_1(bytes, dst, blocks);
        case DType::Q5_0: return dequantize_q5_0(bytes, dst, blocks);
        case DType::Q5_1: return dequantize_q5_1(bytes, dst, blocks);
        case DType::Q8_0: return dequantize_q8_0(bytes, dst, blocks);
        case DType::Q8_1: return dequantize_q8_1(bytes, dst, blocks);
        case DType::Q4_K: return dequantize_q4_k(bytes, dst, blocks);
        case DType::Q5_K: return dequantize_q5_k(bytes, dst, blocks);
        case DType::Q6_K: return dequantize_q6_k(bytes, dst, blocks);
        case DType::Q8_K: return dequantize_q8_k(bytes, dst, blocks);
        default: break;
    }
    fail(ErrorCode::internal, "dequantize_row: type {} passed the check but has no case", info->name);
}

std::vector<float> dequantize(const TensorView& tensor) {
    const DTypeInfo* info = dtype_info(tensor.dtype);
    if (!info || !can_dequantize(tensor.dtype))
        fail(ErrorCode::unsupported, "tensor '{}': no dequantizer for type {} (id {})", tensor.name,
             dtype_name(tensor.dtype), static_cast<uint32_t>(tensor.dtype));
    int64_t elements = 1;
    for (int64_t dim : tensor.shape) {
        // 2^40 values is far beyond any real tensor and keeps the product from overflowing.
        if (dim < 0 || (dim > 0 && elements > (int64_t{1} << 40) / dim))
            fail(ErrorCode::bad_format, "tensor '{}': shape dimension {} is negative or the shape is too large",
                 tensor.name, dim);
        elements *= dim;
    }
    const int64_t cols = tensor.shape.empty() ? 1 : tensor.shape.back();
    if (cols % info->block_elements != 0)
        fail(ErrorCode::bad_format, "tensor '{}': rows of {} values are not a whole number of {}-value {} blocks",
             tensor.name, cols, info->block_elements, info->name);
    const size_t expected = dtype_bytes(tensor.dtype, elements);
    if (tensor.nbytes != expected)
        fail(ErrorCode::bad_format, "tensor '{}': {} bytes of data, but {} values of {} take {}", tensor.name,
             tensor.nbytes, elements, info->name, expected);
    if (elements > 0 && !tensor.data) fail(ErrorCode::bad_format, "tensor '{}': no data", tensor.name);
    std::vector<float> out(static_cast<size_t>(elements));
    if (elements == 0) return out;
    // Row by row, so that a row never spans a block boundary it should not.
    const int64_t rows = elements / cols;
    const size_t row_bytes = dtype_bytes(tensor.dtype, cols);
    for (int64_t r = 0; r < rows; ++r)
        dequantize_row(tensor.dtype, tensor.data + static_cast<size_t>(r) * row_bytes, out.data() + r * cols, cols);
    return out;
}

}  // namespace apr::quant
