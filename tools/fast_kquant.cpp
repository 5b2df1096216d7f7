#include "fast_kquant.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/half.hpp"
#include "quant/blocks.hpp"
#include "quant/k_scales.hpp"
#include "quant/rounding.hpp"

namespace apr::tools {

using quant::kQKK;
using quant::nearest_int;

namespace {

int clamp_int(int v, int lo, int hi) { return std::min(std::max(v, lo), hi); }

}  // namespace

void fast_quantize_q4_k(const float* x, std::byte* dst, int64_t n) {
    // Each 32-value sub-block: x ~ (d * sc) * q - dmin * m with q in 0..15,
    // sc and m 6-bit. The sub-block's [min, max] (min clamped to <= 0, as the
    // format stores a non-negative offset) becomes its grid.
    for (int64_t b = 0; b < n / kQKK; ++b, x += kQKK) {
        float scale[8], offset[8], max_scale = 0.0f, max_offset = 0.0f;
        for (int s = 0; s < 8; ++s) {
            const float* v = x + 32 * s;
            float lo = std::min(0.0f, v[0]), hi = v[0];
            for (int i = 1; i < 32; ++i) {
                lo = std::min(lo, v[i]);
                hi = std::max(hi, v[i]);
            }
            scale[s] = (hi - lo) / 15.0f;
            offset[s] = -lo;
            max_scale = std::max(max_scale, scale[s]);
            max_offset = std::max(max_offset, offset[s]);
        }
        quant::BlockQ4_K block;
        block.d = f32_to_f16(max_scale / 63.0f);
        block.dmin = f32_to_f16(max_offset / 63.0f);
        const float d = f16_to_f32(block.d), dmin = f16_to_f32(block.dmin);
        uint8_t sc[8], mn[8];
        for (int s = 0; s < 8; ++s) {
            // Rounding the scale up keeps the top of the range on the grid.
            sc[s] = static_cast<uint8_t>(d > 0 ? clamp_int(static_cast<int>(std::ceil(scale[s] / d)), 0, 63) : 0);
            mn[s] = static_cast<uint8_t>(dmin > 0 ? clamp_int(nearest_int(offset[s] / dmin), 0, 63) : 0);
        }
        quant::pack_scales_mins_k4(sc, mn, block.scales);
        uint8_t L[kQKK];
        for (int s = 0; s < 8; ++s) {
            const float ds = d * static_cast<float>(sc[s]), dm = dmin * static_cast<float>(mn[s]);
            const float inv = ds > 0 ? 1.0f / ds : 0.0f;
            for (int i = 0; i < 32; ++i)
                L[32 * s + i] = static_cast<uint8_t>(clamp_int(nearest_int((x[32 * s + i] + dm) * inv), 0, 15));
        }
        for (int pair = 0; pair < 4; ++pair)
            for (int l = 0; l < 32; ++l)
                block.qs[32 * pair + l] = static_cast<uint8_t>(L[64 * pair + l] | L[64 * pair + 32 + l] << 4);
        std::memcpy(dst + b * static_cast<int64_t>(sizeof(block)), &block, sizeof(block));
    }
}

void fast_quantize_q6_k(const float* x, std::byte* dst, int64_t n) {
    // Each 16-value sub-block: x ~ (d * sc) * q with q in -32..31 and sc an
    // int8. The value of largest magnitude sits on the grid's end (-32 for it,
    // so its sign decides the sign of the scale), as in llama.cpp's layout.
    for (int64_t b = 0; b < n / kQKK; ++b, x += kQKK) {
        float scale[16], max_scale = 0.0f;
        for (int s = 0; s < 16; ++s) {
            const float* v = x + 16 * s;
            float extreme = v[0];
            for (int i = 1; i < 16; ++i)
                if (std::fabs(v[i]) > std::fabs(extreme)) extreme = v[i];
            scale[s] = extreme / -32.0f;
            if (std::fabs(scale[s]) > std::fabs(max_scale)) max_scale = scale[s];
        }
        quant::BlockQ6_K block;
        block.d = f32_to_f16(max_scale / -128.0f);
        const float d = f16_to_f32(block.d);
        for (int s = 0; s < 16; ++s)
            block.scales[s] = static_cast<int8_t>(d != 0.0f ? clamp_int(nearest_int(scale[s] / d), -128, 127) : 0);
        uint8_t L[kQKK];  // q + 32, 0..63
        for (int s = 0; s < 16; ++s) {
            const float ds = d * static_cast<float>(block.scales[s]);
            const float inv = ds != 0.0f ? 1.0f / ds : 0.0f;
            for (int i = 0; i < 16; ++i)
                L[16 * s + i] = static_cast<uint8_t>(clamp_int(nearest_int(x[16 * s + i] * inv), -32, 31) + 32);
        }
        // Layout: per 128-value half, ql holds the low nibbles of values
        // l and l+64 (byte l) and l+32 and l+96 (byte l+32); qh the 2 high
        // bits of l, l+32, l+64, l+96 in bits 0-1, 2-3, 4-5, 6-7.
        for (int half = 0; half < 2; ++half) {
            const uint8_t* v = L + 128 * half;
            for (int l = 0; l < 32; ++l) {
                block.ql[64 * half + l] = static_cast<uint8_t>((v[l] & 0x0f) | (v[l + 64] & 0x0f) << 4);
                block.ql[64 * half + l + 32] = static_cast<uint8_t>((v[l + 32] & 0x0f) | (v[l + 96] & 0x0f) << 4);
                block.qh[32 * half + l] = static_cast<uint8_t>((v[l] >> 4) | (v[l + 32] >> 4) << 2 |
                                                               (v[l + 64] >> 4) << 4 | (v[l + 96] >> 4) << 6);
            }
        }
        std::memcpy(dst + b * static_cast<int64_t>(sizeof(block)), &block, sizeof(block));
    }
}

}  // namespace apr::tools
