// UTF-8 decoding, the character classes of the pre-tokenizer regexes, and
// NFC normalization, on top of the generated tables in unicode_tables.cpp.
//
// Invalid UTF-8: the tokenizer takes arbitrary bytes. A byte that does not
// start a well-formed UTF-8 sequence is decoded as one unit of its own (see
// Utf8Unit::valid = false): it belongs to no letter/number/space class, NFC
// leaves it untouched, and byte-level BPE encodes the raw byte, so
// decode(encode(bytes)) gives the bytes back unchanged. Hugging Face never
// sees such input (Python strings are valid Unicode); this choice keeps the
// tokenizer lossless instead of substituting U+FFFD.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace apr::unicode {

// One decoded unit of a UTF-8 string.
struct Utf8Unit {
    char32_t code_point;  // the raw byte value when !valid
    uint8_t length;       // bytes consumed, 1..4
    bool valid;
};

// Decodes the unit starting at text[pos] (pos < text.size()). Overlong
// forms, surrogates and values above U+10FFFF are invalid, as are truncated
// sequences; an invalid unit is always exactly one byte long.
inline Utf8Unit decode_utf8(std::string_view text, size_t pos) {
    const auto b0 = static_cast<unsigned char>(text[pos]);
    if (b0 < 0x80) return {b0, 1, true};
    const size_t left = text.size() - pos;
    auto cont = [&](size_t i) { return i < left && (static_cast<unsigned char>(text[pos + i]) & 0xC0) == 0x80; };
    auto bits = [&](size_t i) { return static_cast<char32_t>(static_cast<unsigned char>(text[pos + i]) & 0x3F); };
    if (b0 >= 0xC2 && b0 <= 0xDF && cont(1)) return {(char32_t(b0 & 0x1F) << 6) | bits(1), 2, true};
    if (b0 >= 0xE0 && b0 <= 0xEF && cont(1) && cont(2)) {
        const char32_t cp = (char32_t(b0 & 0x0F) << 12) | (bits(1) << 6) | bits(2);
        if (cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF)) return {cp, 3, true};
    } else if (b0 >= 0xF0 && b0 <= 0xF4 && cont(1) && cont(2) && cont(3)) {
        const char32_t cp = (char32_t(b0 & 0x07) << 18) | (bits(1) << 12) | (bits(2) << 6) | bits(3);
        if (cp >= 0x10000 && cp <= 0x10FFFF) return {cp, 4, true};
    }
    return {b0, 1, false};
}

// Appends the UTF-8 encoding of a valid code point.
void append_utf8(std::string& out, char32_t code_point);

// Class bits (unicode_data::kLetter | kNumber | kSpace) of a code point.
uint8_t char_class(char32_t code_point);

// Class bits of the ASCII characters, inline for the splitter's hot loop.
inline constexpr uint8_t kAsciiClasses[128] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 4, 4, 4, 4, 0, 0,  // \t \n \v \f \r are spaces
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  // ' '
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0,  // digits
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,  // A-O
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,  // P-Z
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,  // a-o
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,  // p-z
};

// Same for the unit at text[pos]; invalid bytes have no class.
struct ClassifiedUnit {
    uint8_t length;
    uint8_t cls;
};
ClassifiedUnit classify_non_ascii_at(std::string_view text, size_t pos);
inline ClassifiedUnit classify_at(std::string_view text, size_t pos) {
    const auto b0 = static_cast<unsigned char>(text[pos]);
    if (b0 < 0x80) return {1, kAsciiClasses[b0]};
    return classify_non_ascii_at(text, pos);
}

uint8_t combining_class(char32_t code_point);

// True when `text` is certainly in NFC already (no code point in it can
// change under normalization); cheap, and true for all ASCII.
bool is_nfc_quick(std::string_view text);

// Appends the NFC form of `text` to `out`. Invalid bytes pass through
// unchanged and block composition across them.
void append_nfc(std::string_view text, std::string& out);

}  // namespace apr::unicode
