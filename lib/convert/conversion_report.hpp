// Small helpers the conversions share: counting tensors per output type
// into a ConversionReport, and lower-case type names for messages.
#pragma once

#include <algorithm>
#include <cctype>
#include <map>
#include <string>

#include "apr/convert.hpp"

namespace apr::convert {

inline std::string lower_type_name(DType type) {
    std::string s(dtype_name(type));
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

class TypeCounter {
public:
    void add(DType type) { ++counts_[static_cast<uint32_t>(type)]; }
    ConversionReport report(const std::filesystem::path& output, size_t file_bytes) const {
        ConversionReport r;
        r.output = output;
        r.file_bytes = file_bytes;
        for (const auto& [type, n] : counts_) {
            r.tensors += n;
            r.tensors_per_type.emplace_back(static_cast<DType>(type), n);
        }
        return r;
    }

private:
    std::map<uint32_t, size_t> counts_;
};

}  // namespace apr::convert
