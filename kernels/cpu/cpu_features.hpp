// Which SIMD instruction set the CPU kernels use. Detected once (cpuid) and
// then passed down explicitly to every kernel call, so one forward pass never
// re-detects and tests can run every level side by side.
#pragma once

#include <optional>
#include <string_view>

namespace apr::cpu {

enum class SimdLevel {
    scalar = 0,  // plain C++, any x86-64 (and any other CPU)
    avx2 = 1,    // AVX2 + FMA + F16C
    avx512 = 2,  // AVX-512 F + BW + VL + DQ + VNNI (Zen 4/5, Ice Lake and later)
};

// Lower-case name: "scalar", "avx2", "avx512".
std::string_view simd_level_name(SimdLevel level) noexcept;
std::optional<SimdLevel> simd_level_from_name(std::string_view name) noexcept;

// Whether this CPU (and OS, for the wide register state) can run `level`.
bool simd_level_supported(SimdLevel level) noexcept;

// The best level this CPU supports, ignoring any override.
SimdLevel best_simd_level() noexcept;

// The level to use: best_simd_level(), unless the environment variable
// APR_SIMD=scalar|avx2|avx512 asks for another one (for testing and for
// comparing kernels). Throws apr::Error(invalid_argument) when APR_SIMD names
// an unknown level or one this CPU cannot run.
SimdLevel selected_simd_level();

// Every level this CPU can run, lowest first (scalar is always there).
int supported_simd_levels(SimdLevel out[3]) noexcept;

}  // namespace apr::cpu
