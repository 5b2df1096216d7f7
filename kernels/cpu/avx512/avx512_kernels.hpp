// Kernels compiled with AVX-512 F/BW/VL/DQ/VNNI (only call when the CPU has them).
#pragma once

#include <cstdint>

namespace apr::cpu::avx512 {

}  // namespace apr::cpu::avx512
