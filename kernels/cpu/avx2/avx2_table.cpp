// The AVX2 kernel table: every type has AVX2 code; tiles are vec_dot loops.
#include "cpu/avx2/avx2_kernels.hpp"
#include "cpu/kernel_table.hpp"

namespace apr::cpu {

namespace {

template <VecDotFn Dot>
constexpr WeightKernels by_vec_dot() {
    return WeightKernels{Dot, &tile_by_vec_dot<Dot>};
}

KernelTable make_avx2_table() {
    KernelTable t = scalar_kernels();
    t.quantize_q8_0 = &avx2::quantize_row_q8_0;
    t.quantize_q8_1 = &avx2::quantize_row_q8_1;
    t.quantize_q8_K = &avx2::quantize_row_q8_K;
    t.q4_K = by_vec_dot<&avx2::dot_q4_K>();
    t.q5_K = by_vec_dot<&avx2::dot_q5_K>();
    t.q6_K = by_vec_dot<&avx2::dot_q6_K>();
    t.q8_0 = by_vec_dot<&avx2::dot_q8_0>();
    t.q4_0 = by_vec_dot<&avx2::dot_q4_0>();
    t.q5_0 = by_vec_dot<&avx2::dot_q5_0>();
    t.q4_1 = by_vec_dot<&avx2::dot_q4_1>();
    t.q5_1 = by_vec_dot<&avx2::dot_q5_1>();
    t.f32 = by_vec_dot<&avx2::dot_f32>();
    t.f16 = by_vec_dot<&avx2::dot_f16>();
    t.bf16 = by_vec_dot<&avx2::dot_bf16>();
    return t;
}

}  // namespace

const KernelTable& avx2_kernels() noexcept {
    static const KernelTable table = make_avx2_table();
    return table;
}

}  // namespace apr::cpu
