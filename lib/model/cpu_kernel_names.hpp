// Names of the CPU kernels an op runs, for traces: the SIMD level and, for a
// matmul, the weight's type and the type its activations are quantized to
// (Q8_K for K-quants, Q8_0 for the legacy 4/5/8-bit types, F32 for floats).
#pragma once

#include <string_view>

#include "apr/dtype.hpp"
#include "apr/model.hpp"
#include "cpu/cpu_features.hpp"

namespace apr::model {

// e.g. "avx512 Q4_K x Q8_K", "avx2 attention"; static storage.
std::string_view cpu_kernel_name(cpu::SimdLevel level, OpKind op, DType type);

}  // namespace apr::model
