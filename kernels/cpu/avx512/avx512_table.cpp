// The AVX-512 kernel table: AVX-512 code where written, AVX2 elsewhere.
#include "cpu/avx512/avx512_kernels.hpp"
#include "cpu/kernel_table.hpp"

namespace apr::cpu {

namespace {

KernelTable make_avx512_table() {
    KernelTable t = avx2_kernels();
    t.quantize_q8_0 = &avx512::quantize_row_q8_0;
    t.quantize_q8_1 = &avx512::quantize_row_q8_1;
    t.quantize_q8_K = &avx512::quantize_row_q8_K;
    t.q4_K = {&avx512::dot_q4_K, &avx512::tile_q4_K};
    t.q5_K = {&avx512::dot_q5_K, &avx512::tile_q5_K};
    t.q6_K = {&avx512::dot_q6_K, &avx512::tile_q6_K};
    t.q8_0 = {&avx512::dot_q8_0, &avx512::tile_q8_0};
    t.q4_0 = {&avx512::dot_q4_0, &avx512::tile_q4_0};
    t.q5_0 = {&avx512::dot_q5_0, &avx512::tile_q5_0};
    t.q4_1 = {&avx512::dot_q4_1, &avx512::tile_q4_1};
    t.q5_1 = {&avx512::dot_q5_1, &avx512::tile_q5_1};
    t.f32 = {&avx512::dot_f32, &avx512::tile_f32};
    t.f16 = {&avx512::dot_f16, &avx512::tile_f16};
    t.bf16 = {&avx512::dot_bf16, &avx512::tile_bf16};
    return t;
}

}  // namespace

const KernelTable& avx512_kernels() noexcept {
    static const KernelTable table = make_avx512_table();
    return table;
}

}  // namespace apr::cpu
