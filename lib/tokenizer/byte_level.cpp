#include "tokenizer/byte_level.hpp"

#include "tokenizer/unicode.hpp"

namespace apr::tokenizer {
namespace {

struct Alphabet {
    std::array<char32_t, 256> to_code_point{};
    std::array<int16_t, 324> to_byte{};  // every alphabet code point is below 0x144

    Alphabet() {
        to_byte.fill(-1);
        char32_t next_extra = 256;
        for (int b = 0; b < 256; ++b) {
            const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            to_code_point[b] = printable ? char32_t(b) : next_extra++;
            to_byte[to_code_point[b]] = static_cast<int16_t>(b);
        }
    }
};

const Alphabet& alphabet() {
    static const Alphabet instance;
    return instance;
}

}  // namespace

const std::array<char32_t, 256>& byte_level_alphabet() { return alphabet().to_code_point; }

std::string byte_level_encode(std::string_view bytes) {
    const auto& map = alphabet().to_code_point;
    std::string out;
    out.reserve(bytes.size() * 2);
    for (const char c : bytes) unicode::append_utf8(out, map[static_cast<unsigned char>(c)]);
    return out;
}

bool byte_level_decode(std::string_view piece, std::string& out) {
    const auto& to_byte = alphabet().to_byte;
    const size_t start = out.size();
    for (size_t pos = 0; pos < piece.size();) {
        const unicode::Utf8Unit unit = unicode::decode_utf8(piece, pos);
        pos += unit.length;
        if (!unit.valid || unit.code_point >= to_byte.size() || to_byte[unit.code_point] < 0) {
            out.resize(start);
            return false;
        }
        out.push_back(static_cast<char>(to_byte[unit.code_point]));
    }
    return true;
}

}  // namespace apr::tokenizer
