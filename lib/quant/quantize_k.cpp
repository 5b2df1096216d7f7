// K-type weight quantizers: a small per-sub-block search for the scale (and
// min), least-squares refits, then the super-block's scales are themselves
// quantized (6 bits for Q4_K/Q5_K, 8 bits for Q6_K) and every value is
// re-rounded against the scales actually stored. That last step is what makes
// each dequantized value the nearest point of its sub-block's stored grid,
// which the tests check exactly.
#include "quant/quantize_k.hpp"

#include <cmath>
#include <cstring>

#include "core/half.hpp"
#include "quant/blocks.hpp"
#include "quant/k_scales.hpp"
#include "quant/rounding.hpp"

namespace apr::quant {
namespace {

int clamp_int(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

// --- Affine sub-blocks (Q4_K, Q5_K): x ~ scale * q - offset, q in 0..nmax. ---

struct AffineFit {
    float scale = 0.0f;   // >= 0
    float offset = 0.0f;  // >= 0: the grid starts at -offset <= 0
};

// Squared error of x against scale * L - offset.
float affine_error(const float* x, const uint8_t* L, int n, float scale, float offset) {
    float err = 0.0f;
    for (int i = 0; i < n; ++i) {
        const float diff = scale * static_cast<float>(L[i]) - offset - x[i];
        err += diff * diff;
    }
    return err;
}

// Least-squares scale and offset for fixed levels L, keeping the grid's start
// at or below zero (the format stores a non-negative offset).
AffineFit refit_affine(const float* x, const uint8_t* L, int n) {
    double sl = 0, sll = 0, sx = 0, slx = 0;
    for (int i = 0; i < n; ++i) {
        sl += L[i];
        sll += static_cast<double>(L[i]) * L[i];
        sx += x[i];
        slx += static_cast<double>(L[i]) * x[i];
    }
    const double det = n * sll - sl * sl;
    if (det > 0) {
        const double scale = (n * slx - sl * sx) / det;
        const double start = (sx - scale * sl) / n;
        if (start <= 0 && scale >= 0) return {static_cast<float>(scale), static_cast<float>(-start)};
    }
    // Start pinned at 0: the scale alone.
    return {sll > 0 && slx > 0 ? static_cast<float>(slx / sll) : 0.0f, 0.0f};
}

// Tries grids slightly narrower and wider than [min, max] (clipping an outlier
// can pay off) and keeps the least-squares refit with the smallest error.
AffineFit fit_affine(const float* x, int n, int nmax) {
    float lo = x[0], hi = x[0];
    for (int i = 1; i < n; ++i) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    if (lo > 0) lo = 0;
    if (!(hi > lo)) return {0.0f, -lo};  // constant block (or NaN): offset alone
    AffineFit best{(hi - lo) / static_cast<float>(nmax), -lo};
    uint8_t L[32];
    auto levels = [&](const AffineFit& fit) {
        const float inv = fit.scale > 0 ? 1.0f / fit.scale : 0.0f;
        for (int i = 0; i < n; ++i) L[i] = static_cast<uint8_t>(clamp_int(nearest_int((x[i] + fit.offset) * inv), 0, nmax));
    };
    levels(best);
    float best_err = affine_error(x, L, n, best.scale, best.offset);
    for (int step = -10; step <= 10; ++step) {
        const float levels_spanned = static_cast<float>(nmax) + 0.1f * static_cast<float>(step);
        AffineFit trial{(hi - lo) / levels_spanned, -lo};
        levels(trial);
        trial = refit_affine(x, L, n);
        levels(trial);  // re-round against the refitted grid
        const float err = affine_error(x, L, n, trial.scale, trial.offset);
        if (err < best_err) {
            best_err = err;
            best = trial;
        }
    }
    return best;
}

// Shared by Q4_K and Q5_K: fills d, dmin, the packed scales and the levels
// L[256] (0..nmax) of one super-block.
void quantize_affine_super_block(const float* x, int nmax, uint16_t& d_bits, uint16_t& dmin_bits,
                                 uint8_t scales[12], uint8_t L[kQKK]) {
    AffineFit fits[8];
    float max_scale = 0.0f, max_offset = 0.0f;
    for (int s = 0; s < 8; ++s) {
        fits[s] = fit_affine(x + 32 * s, 32, nmax);
        max_scale = fits[s].scale > max_scale ? fits[s].scale : max_scale;
        max_offset = fits[s].offset > max_offset ? fits[s].offset : max_offset;
    }
    d_bits = f32_to_f16(max_scale / 63.0f);
    dmin_bits = f32_to_f16(max_offset / 63.0f);
    const float d = f16_to_f32(d_bits), dmin = f16_to_f32(dmin_bits);
    uint8_t sc[8], mn[8];
    for (int s = 0; s < 8; ++s) {
        sc[s] = static_cast<uint8_t>(d > 0 ? clamp_int(nearest_int(fits[s].scale / d), 0, 63) : 0);
        mn[s] = static_cast<uint8_t>(dmin > 0 ? clamp_int(nearest_int(fits[s].offset / dmin), 0, 63) : 0);
    }
    pack_scales_mins_k4(sc, mn, scales);
    // Re-round every value against the grid the decoder will use:
    // (d * sc) * q - dmin * m, computed in the same float order.
    for (int s = 0; s < 8; ++s) {
        const float ds = d * static_cast<float>(sc[s]);
        const float dm = dmin * static_cast<float>(mn[s]);
        for (int i = 0; i < 32; ++i) {
            const float v = x[32 * s + i];
            L[32 * s + i] = static_cast<uint8_t>(ds > 0 ? clamp_int(nearest_int((v + dm) / ds), 0, nmax) : 0);
        }
    }
}

// --- Symmetric sub-blocks (Q6_K): x ~ scale * q, q in -32..31. ---

float fit_symmetric(const float* x, int n) {
    float amax = 0.0f, max = 0.0f;
    for (int i = 0; i < n; ++i)
        if (std::fabs(x[i]) > amax) {
            amax = std::fabs(x[i]);
            max = x[i];
        }
    if (amax == 0.0f) return 0.0f;
    // The value with the largest |x| at q = -32 uses the extra negative level;
    // slightly different scales sometimes fit the rest better.
    float best_scale = max / -32.0f, best_err = -1.0f;
    for (int step = -8; step <= 8; ++step) {
        const float inv = -(32.0f + 0.25f * static_cast<float>(step)) / max;
        double slx = 0, sll = 0;
        int L[16];
        for (int i = 0; i < n; ++i) {
            L[i] = clamp_int(nearest_int(x[i] * inv), -32, 31);
            slx += static_cast<double>(L[i]) * x[i];
            sll += static_cast<double>(L[i]) * L[i];
        }
        if (sll <= 0) continue;
        const float scale = static_cast<float>(slx / sll);
        float err = 0.0f;
        for (int i = 0; i < n; ++i) {
            const float q = scale != 0.0f ? static_cast<float>(clamp_int(nearest_int(x[i] / scale), -32, 31)) : 0.0f;
            const float diff = scale * q - x[i];
            err += diff * diff;
        }
        if (best_err < 0 || err < best_err) {
            best_err = err;
            best_scale = scale;
        }
    }
    return best_scale;
}

}  // namespace

void quantize_q4_k(const float* x, std::byte* dst, int64_t blocks) {
    for (int64_t b = 0; b < blocks; ++b, x += kQKK) {
        BlockQ4_K block;
        uint8_t L[kQKK];
        quantize_affine_super_block(x, 15, block.d, block.dmin, block.scales, L);
        for (int pair = 0; pair < 4; ++pair)
            for (int l = 0; l < 32; ++l)
                block.qs[32 * pair + l] = static_cast<uint8_t>(L[64 * pair + l] | L[64 * pair + 32 + l] << 4);
        std::memcpy(dst + b * static_cast<int64_t>(sizeof(block)), &block, sizeof(block));
    }
}

void quantize_q5_k(const float* x, std::byte* dst, int64_t blocks) {
    for (int64_t b = 0; b < blocks; ++b, x += kQKK) {
        BlockQ5_K block;
        uint8_t L[kQKK];
        quantize_affine_super_block(x, 31, block.d, block.dmin, block.scales, L);
        std::memset(block.qh, 0, sizeof(block.qh));
        for (int pair = 0; pair < 4; ++pair)
            for (int l = 0; l < 32; ++l) {
                const uint8_t lo = L[64 * pair + l], hi = L[64 * pair + 32 + l];
                block.qs[32 * pair + l] = static_cast<uint8_t>((lo & 0x0f) | (hi & 0x0f) << 4);
                block.qh[l] |= static_cast<uint8_t>(((lo >> 4) << (2 * pair)) | ((hi >> 4) << (2 * pair + 1)));
            }
        std::memcpy(dst + b * static_cast<int64_t>(sizeof(block)), &block, sizeof(block));
    }
}

void quantize_q6_k(const float* x, std::byte* dst, int64_t blocks) {
    for (int64_t b = 0; b < blocks; ++b, x += kQKK) {
        BlockQ6_K block;
        float scale[16];
        float max_scale = 0.0f, amax_scale = 0.0f;
        for (int s = 0; s < 16; ++s) {
            scale[s] = fit_symmetric(x + 16 * s, 16);
            if (std::fabs(scale[s]) > amax_scale) {
                amax_scale = std::fabs(scale[s]);
                max_scale = scale[s];
            }
        }
        // The largest scale maps to -128, the widest int8 level.
        block.d = f32_to_f16(max_scale / -128.0f);
        const float d = f16_to_f32(block.d);
        for (int s = 0; s < 16; ++s)
            block.scales[s] = static_cast<int8_t>(d != 0.0f ? clamp_int(nearest_int(scale[s] / d), -128, 127) : 0);
        int L[kQKK];  // 0..63, i.e. q + 32
        for (int s = 0; s < 16; ++s) {
            const float ds = d * static_cast<float>(block.scales[s]);
            for (int i = 0; i < 16; ++i) {
                const int q = ds != 0.0f ? clamp_int(nearest_int(x[16 * s + i] / ds), -32, 31) : 0;
                L[16 * s + i] = q + 32;
            }
        }
        for (int half = 0; half < 2; ++half) {
            const int* v = L + 128 * half;
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

}  // namespace apr::quant
