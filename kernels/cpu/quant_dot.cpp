#include "cpu/quant_dot.hpp"

#include <cstring>

#include "core/fail.hpp"
#include "cpu/dispatch.hpp"

namespace apr::cpu {

const KernelTable& kernels_for(SimdLevel level) {
    if (!simd_level_supported(level))
        fail(ErrorCode::invalid_argument, "SIMD level '{}' is not supported by this CPU", simd_level_name(level));
#if defined(__x86_64__)  // the ISA libraries are built for x86-64 hosts
    switch (level) {
        case SimdLevel::scalar: return scalar_kernels();
        case SimdLevel::avx2: return avx2_kernels();
        case SimdLevel::avx512: return avx512_kernels();
    }
#endif
    return scalar_kernels();
}

bool weight_type_supported(DType weight) noexcept { return scalar_kernels().for_weight(weight) != nullptr; }

DType activation_type(DType weight) {
    switch (weight) {
        case DType::F32:
        case DType::F16:
        case DType::BF16: return DType::F32;
        case DType::Q4_K:
        case DType::Q5_K:
        case DType::Q6_K: return DType::Q8_K;
        case DType::Q4_0:
        case DType::Q5_0:
        case DType::Q8_0: return DType::Q8_0;
        case DType::Q4_1:
        case DType::Q5_1: return DType::Q8_1;
        default: break;
    }
    fail(ErrorCode::unsupported, "CPU matmul: weight type {} is not supported", dtype_name(weight));
}

size_t activation_row_bytes(DType weight, int64_t k) {
    const DType act = activation_type(weight);
    const DTypeInfo* info = dtype_info(weight);
    if (k <= 0 || k % info->block_elements != 0)
        fail(ErrorCode::invalid_argument, "CPU matmul: row length {} is not a positive multiple of the {} block size {}",
             k, info->name, info->block_elements);
    return dtype_bytes(act, k);
}

void quantize_activation_row(DType weight, const float* x, void* out, int64_t k, SimdLevel level) {
    const DType act = activation_type(weight);
    activation_row_bytes(weight, k);  // validates k
    const KernelTable& table = kernels_for(level);
    switch (act) {
        case DType::Q8_K: table.quantize_q8_K(x, out, k); break;
        case DType::Q8_0: table.quantize_q8_0(x, out, k); break;
        case DType::Q8_1: table.quantize_q8_1(x, out, k); break;
        default: std::memcpy(out, x, static_cast<size_t>(k) * sizeof(float)); break;
    }
}

float vec_dot(DType weight, int64_t k, const void* w_row, const void* act_row, SimdLevel level) {
    activation_row_bytes(weight, k);  // validates type and k
    return kernels_for(level).for_weight(weight)->vec_dot(k, w_row, act_row);
}

}  // namespace apr::cpu
