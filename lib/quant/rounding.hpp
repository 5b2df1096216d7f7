// Float-to-integer rounding used by the quantizers, free of undefined
// behaviour for any input (C++ float-to-int conversion of NaN or an
// out-of-range value is undefined; quantizers must not crash on bad data).
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

namespace apr::quant {

// llama.cpp's nearest_int: adding 1.5 * 2^23 makes the FPU round to an
// integer (round half to even under the default rounding mode), which then
// sits in the low mantissa bits. Exact for |x| <= 4194303; outside that range
// we saturate and NaN gives 0, where llama.cpp asserts.
inline int nearest_int(float x) {
    if (!(std::fabs(x) <= 4194303.f)) return x > 0 ? 4194303 : (x < 0 ? -4194303 : 0);
    const float shifted = x + 12582912.f;
    return (std::bit_cast<int32_t>(shifted) & 0x007fffff) - 0x00400000;
}

// What C's `int8_t q = roundf(x)` gives for |x| <= 127.5 (round half away
// from zero); saturates beyond, NaN gives 0.
inline int8_t round_away_to_int8(float x) {
    const float r = std::round(x);
    if (!(r == r)) return 0;
    if (r >= 127.f) return 127;
    if (r <= -128.f) return -128;
    return static_cast<int8_t>(r);
}

// What C's `(int8_t)(x)` truncation gives for x in [0, 127], clamped to
// [0, hi]; NaN gives 0. The legacy quantizers add 0.5 (or 8.5, 16.5) first,
// so this rounds half up.
inline int truncate_clamped(float x, int hi) {
    if (!(x >= 0.f)) return 0;
    if (x >= static_cast<float>(hi)) return hi;
    return static_cast<int>(x);
}

}  // namespace apr::quant
