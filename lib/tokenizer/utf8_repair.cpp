#include "tokenizer/utf8_repair.hpp"

namespace apr::tokenizer {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

// Length of a well-formed sequence led by `lead` and the allowed range of its
// second byte (Unicode Table 3-7); length 0 for bytes that cannot lead.
struct Lead {
    int length;
    unsigned char second_lo, second_hi;
};
Lead lead_info(unsigned char b) {
    if (b < 0x80) return {1, 0, 0};
    if (b >= 0xC2 && b <= 0xDF) return {2, 0x80, 0xBF};
    if (b == 0xE0) return {3, 0xA0, 0xBF};
    if (b == 0xED) return {3, 0x80, 0x9F};
    if (b >= 0xE1 && b <= 0xEF) return {3, 0x80, 0xBF};
    if (b == 0xF0) return {4, 0x90, 0xBF};
    if (b >= 0xF1 && b <= 0xF3) return {4, 0x80, 0xBF};
    if (b == 0xF4) return {4, 0x80, 0x8F};
    return {0, 0, 0};
}

}  // namespace

size_t append_utf8_repaired(std::string_view bytes, bool final, std::string& out) {
    size_t pos = 0;
    while (pos < bytes.size()) {
        const auto b0 = static_cast<unsigned char>(bytes[pos]);
        const Lead lead = lead_info(b0);
        if (lead.length == 1) {
            out.push_back(static_cast<char>(b0));
            ++pos;
            continue;
        }
        if (lead.length == 0) {
            out.append(kReplacement);
            ++pos;
            continue;
        }
        // Count the bytes after the lead that fit the expected ranges.
        int good = 1;
        while (good < lead.length && pos + good < bytes.size()) {
            const auto b = static_cast<unsigned char>(bytes[pos + good]);
            const bool fits = good == 1 ? (b >= lead.second_lo && b <= lead.second_hi) : (b >= 0x80 && b <= 0xBF);
            if (!fits) break;
            ++good;
        }
        if (good == lead.length) {
            out.append(bytes.substr(pos, good));
            pos += good;
        } else if (pos + good == bytes.size() && !final) {
            break;  // may still be completed by bytes not seen yet
        } else {
            out.append(kReplacement);
            pos += good;
        }
    }
    return pos;
}

}  // namespace apr::tokenizer
