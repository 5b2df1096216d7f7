// Kernels compiled with AVX2 + FMA + F16C (only call when the CPU has them).
#pragma once

#include <cstdint>

namespace apr::cpu::avx2 {

}  // namespace apr::cpu::avx2
