#include "model/cpu_kernel_names.hpp"

#include <fmt/format.h>

#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace apr::model {
namespace {

std::string_view activation_type(DType type) {
    switch (type) {
        case DType::Q2_K: case DType::Q3_K: case DType::Q4_K: case DType::Q5_K: case DType::Q6_K: return "Q8_K";
        case DType::Q4_0: case DType::Q4_1: case DType::Q5_0: case DType::Q5_1: case DType::Q8_0: return "Q8_0";
        default: return "F32";
    }
}

}  // namespace

std::string_view cpu_kernel_name(cpu::SimdLevel level, OpKind op, DType type) {
    // Built on first use and never freed, so the views stay valid.
    static std::mutex mutex;
    static std::map<std::tuple<int, int, uint32_t>, std::string>* names = new std::map<std::tuple<int, int, uint32_t>, std::string>();
    const auto key = std::make_tuple(static_cast<int>(level), static_cast<int>(op), static_cast<uint32_t>(type));
    std::lock_guard<std::mutex> lock(mutex);
    auto it = names->find(key);
    if (it != names->end()) return it->second;
    std::string name;
    if (op == OpKind::matmul || op == OpKind::lm_head)
        name = fmt::format("{} {} x {}", cpu::simd_level_name(level), dtype_name(type), activation_type(type));
    else if (op == OpKind::embed)
        name = fmt::format("get_rows {}", dtype_name(type));
    else
        name = op == OpKind::attention ? fmt::format("{} attention", cpu::simd_level_name(level))
                                       : fmt::format("cpu {}", op_kind_name(op));  // row loops shared by every level
    return names->emplace(key, std::move(name)).first->second;
}

}  // namespace apr::model
