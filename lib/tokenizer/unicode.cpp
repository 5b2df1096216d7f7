#include "tokenizer/unicode.hpp"

#include <algorithm>
#include <array>
#include <vector>

#include "tokenizer/unicode_tables.hpp"

namespace apr::unicode {
namespace {

namespace ud = unicode_data;

uint8_t range_value(const ud::Range* ranges, size_t count, char32_t cp) {
    const ud::Range* end = ranges + count;
    // First range whose last >= cp.
    const ud::Range* it =
        std::lower_bound(ranges, end, cp, [](const ud::Range& r, char32_t value) { return r.last < value; });
    return (it != end && it->first <= cp) ? it->value : 0;
}

// Hangul syllables are composed and decomposed by arithmetic (Unicode ch. 3.12).
constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr char32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount,
                   kSCount = kLCount * kNCount;

// Invalid input bytes travel through normalization as values above the
// Unicode range, so they can never match a table entry.
constexpr char32_t kRawByteBase = 0x110000;

void decompose(char32_t cp, std::vector<char32_t>& out) {
    if (cp >= kSBase && cp < kSBase + kSCount) {
        const char32_t s = cp - kSBase;
        out.push_back(kLBase + s / kNCount);
        out.push_back(kVBase + (s % kNCount) / kTCount);
        if (s % kTCount != 0) out.push_back(kTBase + s % kTCount);
        return;
    }
    const ud::Decomposition* end = ud::kDecompositions + ud::kDecompositionsCount;
    const ud::Decomposition* it = std::lower_bound(
        ud::kDecompositions, end, cp, [](const ud::Decomposition& d, char32_t value) { return d.code_point < value; });
    if (it != end && it->code_point == cp) {
        out.insert(out.end(), ud::kDecompositionData + it->offset, ud::kDecompositionData + it->offset + it->length);
    } else {
        out.push_back(cp);
    }
}

// The primary composite of (first, second), or 0 when there is none.
char32_t compose(char32_t first, char32_t second) {
    if (first >= kLBase && first < kLBase + kLCount && second >= kVBase && second < kVBase + kVCount)
        return kSBase + ((first - kLBase) * kVCount + (second - kVBase)) * kTCount;
    if (first >= kSBase && first < kSBase + kSCount && (first - kSBase) % kTCount == 0 && second > kTBase &&
        second < kTBase + kTCount)
        return first + (second - kTBase);
    if (first >= kRawByteBase || second >= kRawByteBase) return 0;
    const uint64_t key = (uint64_t(first) << 21) | second;
    const ud::Composition* end = ud::kCompositions + ud::kCompositionsCount;
    const ud::Composition* it = std::lower_bound(ud::kCompositions, end, key,
                                                 [](const ud::Composition& c, uint64_t value) { return c.key < value; });
    return (it != end && it->key == key) ? it->composite : 0;
}

uint8_t ccc_of(char32_t cp) { return cp >= kRawByteBase ? 0 : combining_class(cp); }

}  // namespace

void append_utf8(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

uint8_t char_class(char32_t cp) {
    if (cp < 128) return kAsciiClasses[cp];
    return range_value(ud::kClassRanges, ud::kClassRangesCount, cp);
}

ClassifiedUnit classify_non_ascii_at(std::string_view text, size_t pos) {
    const Utf8Unit unit = decode_utf8(text, pos);
    return {unit.length, unit.valid ? char_class(unit.code_point) : uint8_t{0}};
}

uint8_t combining_class(char32_t cp) {
    if (cp < 0x300) return 0;
    return range_value(ud::kCombiningClassRanges, ud::kCombiningClassRangesCount, cp);
}

bool is_nfc_quick(std::string_view text) {
    size_t pos = 0;
    while (pos < text.size()) {
        const auto b0 = static_cast<unsigned char>(text[pos]);
        if (b0 < 0x80) {
            ++pos;
            continue;
        }
        const Utf8Unit unit = decode_utf8(text, pos);
        pos += unit.length;
        // Nothing below U+0300 is unsafe: Latin-1 letters have no decomposition
        // that NFC would change and nothing there combines with a predecessor.
        if (unit.valid && unit.code_point >= 0x300 &&
            range_value(ud::kNfcUnsafeRanges, ud::kNfcUnsafeRangesCount, unit.code_point))
            return false;
    }
    return true;
}

void append_nfc(std::string_view text, std::string& out) {
    // 1. Full canonical decomposition.
    std::vector<char32_t> cps;
    cps.reserve(text.size());
    for (size_t pos = 0; pos < text.size();) {
        const Utf8Unit unit = decode_utf8(text, pos);
        pos += unit.length;
        if (unit.valid) decompose(unit.code_point, cps);
        else cps.push_back(kRawByteBase + unit.code_point);
    }
    // 2. Canonical ordering: stable sort of each run of non-starters by class.
    for (size_t i = 0; i < cps.size();) {
        if (ccc_of(cps[i]) == 0) {
            ++i;
            continue;
        }
        size_t j = i;
        while (j < cps.size() && ccc_of(cps[j]) != 0) ++j;
        std::stable_sort(cps.begin() + i, cps.begin() + j,
                         [](char32_t a, char32_t b) { return ccc_of(a) < ccc_of(b); });
        i = j;
    }
    // 3. Canonical composition: each character composes with the last starter
    // unless a character between them blocks it (class 0, or class >= its own).
    std::vector<char32_t> composed;
    composed.reserve(cps.size());
    size_t starter = SIZE_MAX;
    uint8_t last_ccc = 0;
    for (const char32_t cp : cps) {
        const uint8_t ccc = ccc_of(cp);
        if (starter != SIZE_MAX) {
            const bool adjacent = composed.size() - 1 == starter;
            if (adjacent || (last_ccc != 0 && last_ccc < ccc)) {
                if (const char32_t c = compose(composed[starter], cp)) {
                    composed[starter] = c;
                    continue;
                }
            }
        }
        if (ccc == 0) starter = composed.size();
        last_ccc = ccc;
        composed.push_back(cp);
    }
    for (const char32_t cp : composed) {
        if (cp >= kRawByteBase) out.push_back(static_cast<char>(cp - kRawByteBase));
        else append_utf8(out, cp);
    }
}

}  // namespace apr::unicode
