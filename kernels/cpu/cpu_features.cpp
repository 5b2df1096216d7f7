#include "cpu/cpu_features.hpp"

#include <cstdlib>
#include <string>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "core/fail.hpp"

namespace apr::cpu {
namespace {

#if defined(__x86_64__) || defined(__i386__)
// F16C straight from cpuid leaf 1 (ECX bit 29): clang 14's
// __builtin_cpu_supports does not know the "f16c" feature name. F16C uses
// the AVX register state, which the avx2 check already requires the OS to save.
bool cpu_has_f16c() noexcept {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return false;
    return (ecx & (1u << 29)) != 0;
}
#endif

}  // namespace

std::string_view simd_level_name(SimdLevel level) noexcept {
    switch (level) {
        case SimdLevel::scalar: return "scalar";
        case SimdLevel::avx2: return "avx2";
        case SimdLevel::avx512: return "avx512";
    }
    return "unknown";
}

std::optional<SimdLevel> simd_level_from_name(std::string_view name) noexcept {
    if (name == "scalar") return SimdLevel::scalar;
    if (name == "avx2") return SimdLevel::avx2;
    if (name == "avx512") return SimdLevel::avx512;
    return std::nullopt;
}

namespace {

bool probe_simd_level(SimdLevel level) noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();  // safe to repeat; needed if first called from a static constructor
#endif
    switch (level) {
        case SimdLevel::scalar: return true;
#if defined(__x86_64__) || defined(__i386__)
        // __builtin_cpu_supports checks cpuid and that the OS saves the
        // AVX / AVX-512 register state (xgetbv), so a "yes" is safe to run.
        case SimdLevel::avx2:
            return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpu_has_f16c();
        case SimdLevel::avx512:
            return probe_simd_level(SimdLevel::avx2) && __builtin_cpu_supports("avx512f") &&
                   __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
                   __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vnni");
#else
        default: return false;
#endif
    }
    return false;
}

}  // namespace

// Probed once: every matmul asks (kernels_for), and cpuid - which the F16C
// check executes - traps to the hypervisor in a virtual machine, costing
// microseconds per call (8% of a small model's decode step when uncached).
bool simd_level_supported(SimdLevel level) noexcept {
    static const bool supported[3] = {probe_simd_level(SimdLevel::scalar), probe_simd_level(SimdLevel::avx2),
                                      probe_simd_level(SimdLevel::avx512)};
    const auto i = static_cast<size_t>(level);
    return i < 3 && supported[i];
}

SimdLevel best_simd_level() noexcept {
    if (simd_level_supported(SimdLevel::avx512)) return SimdLevel::avx512;
    if (simd_level_supported(SimdLevel::avx2)) return SimdLevel::avx2;
    return SimdLevel::scalar;
}

SimdLevel selected_simd_level() {
    const char* env = std::getenv("APR_SIMD");
    if (env == nullptr || *env == '\0') return best_simd_level();
    const auto level = simd_level_from_name(env);
    if (!level) fail(ErrorCode::invalid_argument, "APR_SIMD='{}': expected scalar, avx2 or avx512", env);
    if (!simd_level_supported(*level))
        fail(ErrorCode::invalid_argument, "APR_SIMD='{}': this CPU does not support that instruction set", env);
    return *level;
}

int supported_simd_levels(SimdLevel out[3]) noexcept {
    int n = 0;
    for (SimdLevel level : {SimdLevel::scalar, SimdLevel::avx2, SimdLevel::avx512})
        if (simd_level_supported(level)) out[n++] = level;
    return n;
}

}  // namespace apr::cpu
