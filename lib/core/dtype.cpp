#include "apr/dtype.hpp"

#include <array>
#include <cctype>

#include "core/fail.hpp"

namespace apr {
namespace {

constexpr std::array<DTypeInfo, 15> kTypes = {{
    {DType::F32, "F32", 1, 4, false, true},
    {DType::F16, "F16", 1, 2, false, true},
    {DType::Q4_0, "Q4_0", 32, 18, true, true},
    {DType::Q4_1, "Q4_1", 32, 20, true, true},
    {DType::Q5_0, "Q5_0", 32, 22, true, true},
    {DType::Q5_1, "Q5_1", 32, 24, true, true},
    {DType::Q8_0, "Q8_0", 32, 34, true, true},
    {DType::Q8_1, "Q8_1", 32, 36, true, true},
    {DType::Q2_K, "Q2_K", 256, 84, true, false},
    {DType::Q3_K, "Q3_K", 256, 110, true, false},
    {DType::Q4_K, "Q4_K", 256, 144, true, true},
    {DType::Q5_K, "Q5_K", 256, 176, true, true},
    {DType::Q6_K, "Q6_K", 256, 210, true, true},
    {DType::Q8_K, "Q8_K", 256, 292, true, true},
    {DType::BF16, "BF16", 1, 2, false, true},
}};

}  // namespace

const DTypeInfo* dtype_info(DType type) noexcept { return dtype_info_from_id(static_cast<uint32_t>(type)); }

const DTypeInfo* dtype_info_from_id(uint32_t id) noexcept {
    for (const auto& info : kTypes)
        if (static_cast<uint32_t>(info.type) == id) return &info;
    return nullptr;
}

std::optional<DType> dtype_from_name(std::string_view name) noexcept {
    for (const auto& info : kTypes) {
        if (info.name.size() != name.size()) continue;
        bool same = true;
        for (size_t i = 0; i < name.size() && same; ++i)
            same = std::toupper(static_cast<unsigned char>(name[i])) == info.name[i];
        if (same) return info.type;
    }
    return std::nullopt;
}

std::string_view dtype_name(DType type) noexcept {
    const DTypeInfo* info = dtype_info(type);
    return info ? info->name : std::string_view("unknown");
}

size_t dtype_bytes(DType type, int64_t elements) {
    const DTypeInfo* info = dtype_info(type);
    if (!info) fail(ErrorCode::unsupported, "unknown tensor type id {}", static_cast<uint32_t>(type));
    if (elements < 0 || elements % info->block_elements != 0)
        fail(ErrorCode::bad_format, "{} values of type {} are not a whole number of {}-value blocks",
             elements, info->name, info->block_elements);
    return static_cast<size_t>(elements / info->block_elements) * info->block_bytes;
}

}  // namespace apr
