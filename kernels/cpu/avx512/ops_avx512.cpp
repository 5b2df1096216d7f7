// AVX-512 versions of row ops of kernels/cpu/ops.hpp whose scalar loops the
// compiler cannot vectorize (they call exp): the same float operations in the
// same order, sixteen values at a time, with exp_ps giving std::exp's bits,
// so every output equals the scalar op's.
#include <immintrin.h>

#include <cmath>

#include "cpu/avx512/exp_avx512.hpp"
#include "cpu/ops.hpp"

namespace apr::cpu::avx512 {

void exp_row(const float* x, int64_t n, float* y) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, exp_ps(_mm512_loadu_ps(x + i)));
    for (; i < n; ++i) y[i] = std::exp(x[i]);
}

// y = gate / (1 + exp(-gate)) * up, as swiglu_row.
void swiglu_row(const float* gate, const float* up, int64_t n, float* y) {
    const __m512 one = _mm512_set1_ps(1.0f);
    const __m512 sign = _mm512_set1_ps(-0.0f);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512 g = _mm512_loadu_ps(gate + i);
        const __m512 e = exp_ps(_mm512_xor_ps(g, sign));
        _mm512_storeu_ps(y + i, _mm512_mul_ps(_mm512_div_ps(g, _mm512_add_ps(one, e)), _mm512_loadu_ps(up + i)));
    }
    for (; i < n; ++i) {
        const float g = gate[i];
        y[i] = g / (1.0f + std::exp(-g)) * up[i];
    }
}

}  // namespace apr::cpu::avx512
