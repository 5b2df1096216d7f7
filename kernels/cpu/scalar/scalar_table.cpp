#include "cpu/kernel_table.hpp"
#include "cpu/scalar/scalar_kernels.hpp"

namespace apr::cpu {

namespace {

template <VecDotFn Dot>
constexpr WeightKernels by_vec_dot() {
    return WeightKernels{Dot, &tile_by_vec_dot<Dot>};
}

KernelTable make_scalar_table() {
    KernelTable t;
    t.quantize_q8_0 = &scalar::quantize_row_q8_0;
    t.quantize_q8_1 = &scalar::quantize_row_q8_1;
    t.quantize_q8_K = &scalar::quantize_row_q8_K;
    t.f32 = by_vec_dot<&scalar::dot_f32>();
    t.f16 = by_vec_dot<&scalar::dot_f16>();
    t.bf16 = by_vec_dot<&scalar::dot_bf16>();
    t.q4_0 = by_vec_dot<&scalar::dot_q4_0>();
    t.q4_1 = by_vec_dot<&scalar::dot_q4_1>();
    t.q5_0 = by_vec_dot<&scalar::dot_q5_0>();
    t.q5_1 = by_vec_dot<&scalar::dot_q5_1>();
    t.q8_0 = by_vec_dot<&scalar::dot_q8_0>();
    t.q4_K = by_vec_dot<&scalar::dot_q4_K>();
    t.q5_K = by_vec_dot<&scalar::dot_q5_K>();
    t.q6_K = by_vec_dot<&scalar::dot_q6_K>();
    return t;
}

}  // namespace

const KernelTable& scalar_kernels() noexcept {
    static const KernelTable table = make_scalar_table();
    return table;
}

const WeightKernels* KernelTable::for_weight(DType type) const noexcept {
    switch (type) {
        case DType::F32: return &f32;
        case DType::F16: return &f16;
        case DType::BF16: return &bf16;
        case DType::Q4_0: return &q4_0;
        case DType::Q4_1: return &q4_1;
        case DType::Q5_0: return &q5_0;
        case DType::Q5_1: return &q5_1;
        case DType::Q8_0: return &q8_0;
        case DType::Q4_K: return &q4_K;
        case DType::Q5_K: return &q5_K;
        case DType::Q6_K: return &q6_K;
        default: return nullptr;
    }
}

}  // namespace apr::cpu
