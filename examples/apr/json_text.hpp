// JSON text helpers of the apr CLI and server: string quoting (always valid
// UTF-8) and finite numbers.
#pragma once

#include <fmt/format.h>

#include <cmath>
#include <string>
#include <string_view>

namespace apr::cli {

// Length of the UTF-8 sequence starting at s[i], or 0 when it is not a
// complete, well-formed sequence (a bad lead byte, a missing or wrong
// continuation byte, or the end of the text).
inline int utf8_sequence_length(std::string_view s, size_t i) {
    const auto c = static_cast<unsigned char>(s[i]);
    const int len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + static_cast<size_t>(len) > s.size()) return 0;
    for (int k = 1; k < len; ++k)
        if ((static_cast<unsigned char>(s[i + static_cast<size_t>(k)]) & 0xC0) != 0x80) return 0;
    return len;
}

// A JSON string literal of `s`. Bytes that are not valid UTF-8 become U+FFFD,
// so the output is always valid JSON whatever text a model or a client gave.
inline std::string json_string(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 2);
    out += '"';
    for (size_t i = 0; i < s.size();) {
        const int len = utf8_sequence_length(s, i);
        if (len == 0) {
            out += "\xEF\xBF\xBD";
            ++i;
            continue;
        }
        if (len > 1) {
            out.append(s.substr(i, static_cast<size_t>(len)));
            i += static_cast<size_t>(len);
            continue;
        }
        const auto c = static_cast<unsigned char>(s[i++]);
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
    return out + '"';
}

// JSON has no infinities; a -inf log-probability is written as a very small number.
inline std::string json_number(double v) {
    return std::isfinite(v) ? fmt::format("{}", v) : (v > 0 ? "1e308" : "-1e308");
}

}  // namespace apr::cli
