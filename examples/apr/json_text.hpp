// JSON text helpers of the apr CLI: string quoting and finite numbers.
#pragma once

#include <fmt/format.h>

#include <cmath>
#include <string>
#include <string_view>

namespace apr::cli {

inline std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20) out += fmt::format("\\u{:04x}", c);
                else out += static_cast<char>(c);
        }
    }
    return out + "\"";
}

// JSON has no infinities; a -inf log-probability is written as a very small number.
inline std::string json_number(double v) {
    return std::isfinite(v) ? fmt::format("{}", v) : (v > 0 ? "1e308" : "-1e308");
}

}  // namespace apr::cli
