// Internal: the kernel table of a SimdLevel (checked against the CPU).
#pragma once

#include "cpu/cpu_features.hpp"
#include "cpu/kernel_table.hpp"

namespace apr::cpu {

// Throws apr::Error(invalid_argument) when this CPU cannot run `level`.
const KernelTable& kernels_for(SimdLevel level);

}  // namespace apr::cpu
