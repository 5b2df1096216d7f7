// exp of sixteen floats at once with the bits of the C library's expf, for
// the AVX-512 kernels (include only in files compiled with AVX-512 F/DQ).
//
// glibc's expf (2.27 and later; the FMA variant its ifunc picks on every
// CPU with AVX-512) computes, in double:
//   kd = InvLn2N * x + Shift (one FMA; N = 32),  ki = bits(kd),  kd -= Shift,
//   r  = InvLn2N * x - kd (one FMA),  s = bits(T[ki % 32] + (ki << 47)),
//   y  = ((C0 * r + C1) * r^2 + (C2 * r + 1)) * s (three FMAs, one product),
// and rounds y to float; |x| >= 88 and NaN take other paths. This does the
// same operations eight doubles at a time (the table through two 16-entry
// permutes), and hands lanes outside that range to std::exp, so every lane is
// std::exp's value bit for bit: checked over all 2^32 floats against this
// machine's libm (Debian glibc 2.36), and on a sample of them by
// test_cpu_ops. The forward pass's exps (SwiGLU, the attention softmax) can
// so run sixteen at a time without changing any output.
#pragma once

#include <immintrin.h>

#include <cmath>
#include <cstdint>

namespace apr::cpu::avx512 {

// T[i] = bits(2^(i/32)) - (i << 47), glibc's __exp2f_data.tab.
alignas(64) inline constexpr uint64_t kExpTable[32] = {
    0x3ff0000000000000, 0x3fefd9b0d3158574, 0x3fefb5586cf9890f, 0x3fef9301d0125b51, 0x3fef72b83c7d517b,
    0x3fef54873168b9aa, 0x3fef387a6e756238, 0x3fef1e9df51fdee1, 0x3fef06fe0a31b715, 0x3feef1a7373aa9cb,
    0x3feedea64c123422, 0x3feece086061892d, 0x3feebfdad5362a27, 0x3feeb42b569d4f82, 0x3feeab07dd485429,
    0x3feea47eb03a5585, 0x3feea09e667f3bcd, 0x3fee9f75e8ec5f74, 0x3feea11473eb0187, 0x3feea589994cce13,
    0x3feeace5422aa0db, 0x3feeb737b0cdc5e5, 0x3feec49182a3f090, 0x3feed503b23e255d, 0x3feee89f995ad3ad,
    0x3feeff76f2fb5e47, 0x3fef199bdd85529c, 0x3fef3720dcef9069, 0x3fef5818dcfba487, 0x3fef7c97337b9b5f,
    0x3fefa4afa2a490da, 0x3fefd0765b6e4540};

// exp of eight floats (|x| < 88), as doubles before the final rounding.
inline __m512d exp_glibc_pd(__m256 x) {
    const __m512d inv_ln2_n = _mm512_set1_pd(0x1.71547652b82fep+5), shift = _mm512_set1_pd(0x1.8p+52);
    const __m512d c0 = _mm512_set1_pd(0x1.c6af84b912394p-20), c1 = _mm512_set1_pd(0x1.ebfce50fac4f3p-13);
    const __m512d c2 = _mm512_set1_pd(0x1.62e42ff0c52d6p-6), one = _mm512_set1_pd(1.0);
    const __m512i t0 = _mm512_load_si512(kExpTable), t1 = _mm512_load_si512(kExpTable + 8);
    const __m512i t2 = _mm512_load_si512(kExpTable + 16), t3 = _mm512_load_si512(kExpTable + 24);
    const __m512d xd = _mm512_cvtps_pd(x);
    const __m512d kd = _mm512_fmadd_pd(inv_ln2_n, xd, shift);
    const __m512i ki = _mm512_castpd_si512(kd);
    const __m512d r = _mm512_fmsub_pd(inv_ln2_n, xd, _mm512_sub_pd(kd, shift));
    // T[ki % 32]: the permutes read index bits 0-3, bit 4 picks the half.
    const __m512i lo = _mm512_permutex2var_epi64(t0, ki, t1), hi = _mm512_permutex2var_epi64(t2, ki, t3);
    const __mmask8 upper = _mm512_test_epi64_mask(ki, _mm512_set1_epi64(16));
    const __m512d s =
        _mm512_castsi512_pd(_mm512_add_epi64(_mm512_mask_blend_epi64(upper, lo, hi), _mm512_slli_epi64(ki, 47)));
    const __m512d z = _mm512_fmadd_pd(c0, r, c1);
    const __m512d y = _mm512_fmadd_pd(z, _mm512_mul_pd(r, r), _mm512_fmadd_pd(c2, r, one));
    return _mm512_mul_pd(y, s);
}

// std::exp of each of sixteen floats, bit for bit.
inline __m512 exp_ps(__m512 x) {
    // glibc's range test: the exponent field and top mantissa bits (x's bits
    // >> 20, sign dropped) at least those of 88.0f, or NaN / infinity.
    const __m512i top = _mm512_and_si512(_mm512_srli_epi32(_mm512_castps_si512(x), 20), _mm512_set1_epi32(0x7ff));
    const __mmask16 outside = _mm512_cmpgt_epi32_mask(top, _mm512_set1_epi32(0x42a));
    const __m512 safe = _mm512_mask_blend_ps(outside, x, _mm512_setzero_ps());
    const __m256 lo = _mm512_cvtpd_ps(exp_glibc_pd(_mm512_castps512_ps256(safe)));
    const __m256 hi = _mm512_cvtpd_ps(exp_glibc_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(safe), 1))));
    __m512 e = _mm512_insertf32x8(_mm512_castps256_ps512(lo), hi, 1);
    if (outside != 0) {
        alignas(64) float in[16], out[16];
        _mm512_store_ps(in, x);
        _mm512_store_ps(out, e);
        for (int i = 0; i < 16; ++i)
            if ((outside >> i) & 1) out[i] = std::exp(in[i]);
        e = _mm512_load_ps(out);
    }
    return e;
}

}  // namespace apr::cpu::avx512
