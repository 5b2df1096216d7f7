// The 12-byte scales field of Q4_K and Q5_K: eight 6-bit scales and eight
// 6-bit mins, one pair per 32-value sub-block, packed as GGUF defines it:
//   sub-blocks 0..3: scale = scales[j] & 63,        min = scales[j + 4] & 63
//   sub-blocks 4..7: scale = (scales[j + 4] & 15) | (scales[j - 4] >> 6) << 4
//                    min   = (scales[j + 4] >> 4) | (scales[j] >> 6) << 4
// i.e. bytes 0..3 hold scales 0..3 plus the top 2 bits of scales 4..7, bytes
// 4..7 hold mins 0..3 plus the top 2 bits of mins 4..7, and bytes 8..11 hold
// the low 4 bits of scale (low nibble) and min (high nibble) of 4..7.
#pragma once

#include <cstdint>

namespace apr::quant {

struct ScaleMin {
    uint8_t scale;  // 0..63
    uint8_t min;    // 0..63
};

inline ScaleMin unpack_scale_min_k4(const uint8_t scales[12], int j) {
    if (j < 4)
        return {static_cast<uint8_t>(scales[j] & 63), static_cast<uint8_t>(scales[j + 4] & 63)};
    return {static_cast<uint8_t>((scales[j + 4] & 0x0f) | ((scales[j - 4] >> 6) << 4)),
            static_cast<uint8_t>((scales[j + 4] >> 4) | ((scales[j] >> 6) << 4))};
}

// Inverse of unpack_scale_min_k4 for all eight pairs; values must be 0..63.
inline void pack_scales_mins_k4(const uint8_t scale[8], const uint8_t min[8], uint8_t scales[12]) {
    for (int j = 0; j < 4; ++j) {
        scales[j] = static_cast<uint8_t>((scale[j] & 63) | ((scale[j + 4] >> 4) << 6));
        scales[j + 4] = static_cast<uint8_t>((min[j] & 63) | ((min[j + 4] >> 4) << 6));
        scales[j + 8] = static_cast<uint8_t>((scale[j + 4] & 0x0f) | ((min[j + 4] & 0x0f) << 4));
    }
}

}  // namespace apr::quant
