// The text machinery under the tokenizer: pre-tokenizer regexes, NFC and
// UTF-8 repair. Expected values come from Python (the `regex` module with
// the tokenizers' exact patterns, unicodedata.normalize, bytes.decode with
// errors="replace").
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "tokenizer/byte_level.hpp"
#include "tokenizer/pre_tokenizer.hpp"
#include "tokenizer/unicode.hpp"
#include "tokenizer/unicode_tables.hpp"
#include "tokenizer/utf8_repair.hpp"

using namespace apr::tokenizer;

namespace {

struct SplitCase {
    std::string text;
    std::vector<std::string> words;
};

std::vector<std::string> split(PreTokenizerKind kind, std::string_view text) {
    std::vector<std::string_view> words;
    split_words(kind, text, words);
    return {words.begin(), words.end()};
}

void check_splits(PreTokenizerKind kind, const std::vector<SplitCase>& cases) {
    for (const auto& c : cases) {
        INFO("text: [" << c.text << "]");
        CHECK(split(kind, c.text) == c.words);
    }
}

}  // namespace

TEST_CASE("qwen2 pre-tokenizer splits like its regex") {
    check_splits(PreTokenizerKind::qwen2, {
        {"Hello world", {"Hello", " world"}},
        {"I'M here, you'RE 'll'Ve", {"I", "'M", " here", ",", " you", "'RE", " '", "ll", "'Ve"}},
        {"x=12345+678", {"x", "=", "1", "2", "3", "4", "5", "+", "6", "7", "8"}},
        {"  \n\n  indented\tTab", {"  \n\n", " ", " indented", "\tTab"}},
        {"trailing   ", {"trailing", "   "}},
        {"a\xC2\xA0" "b\xE3\x80\x80" "c", {"a", "\xC2\xA0" "b", "\xE3\x80\x80" "c"}},
        {"x'\xC5\xBFy'S", {"x", "'\xC5\xBF", "y", "'S"}},  // U+017F folds to 's'
        {"return (a, b)\r\n\r\n", {"return", " (", "a", ",", " b", ")\r\n\r\n"}},
        {"\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E" "123", {"\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E", "1", "2", "3"}},
        {"\xC2\xA1Hola! \xC2\xBFQu\xC3\xA9?", {"\xC2\xA1Hola", "!", " \xC2\xBF", "Qu\xC3\xA9", "?"}},
        {"..\n\n...", {"..\n\n", "..."}},
        {" \xCC\x81" "e", {" \xCC\x81", "e"}},
        {"", {}},
    });
}

TEST_CASE("llama-bpe pre-tokenizer groups up to three digits") {
    check_splits(PreTokenizerKind::llama3, {
        {"x=12345+678", {"x", "=", "123", "45", "+", "678"}},
        {"I'M here, you'RE 'll'Ve", {"I", "'M", " here", ",", " you", "'RE", " '", "ll", "'Ve"}},
        {"  \n\n  indented\tTab", {"  \n\n", " ", " indented", "\tTab"}},
    });
}

TEST_CASE("gpt2 pre-tokenizer splits like its regex") {
    check_splits(PreTokenizerKind::gpt2, {
        {"I'M here, you'RE 'll'Ve", {"I", "'", "M", " here", ",", " you", "'", "RE", " '", "ll", "'", "Ve"}},
        {"x=12345+678", {"x", "=", "12345", "+", "678"}},
        {"  \n\n  indented\tTab", {"  \n\n ", " indented", "\t", "Tab"}},
        {"a\xC2\xA0" "b\xE3\x80\x80" "c", {"a", "\xC2\xA0", "b", "\xE3\x80\x80", "c"}},
        {"return (a, b)\r\n\r\n", {"return", " (", "a", ",", " b", ")", "\r\n\r\n"}},
        {"\xC2\xA1Hola! \xC2\xBFQu\xC3\xA9?", {"\xC2\xA1", "Hola", "!", " \xC2\xBF", "Qu\xC3\xA9", "?"}},
        {"..\n\n...", {"..", "\n", "\n", "..."}},
    });
}

TEST_CASE("invalid UTF-8 bytes are single characters of no class") {
    CHECK(split(PreTokenizerKind::qwen2, "a\xFF" "bc \xC3") == std::vector<std::string>{"a", "\xFF" "bc", " \xC3"});
    CHECK(split(PreTokenizerKind::gpt2, "\xE6\x97") == std::vector<std::string>{"\xE6\x97"});
}

TEST_CASE("pre-tokenizer names and regexes map to kinds") {
    CHECK(pre_tokenizer_from_gguf_name("qwen2") == PreTokenizerKind::qwen2);
    CHECK(pre_tokenizer_from_gguf_name("llama-bpe") == PreTokenizerKind::llama3);
    CHECK(pre_tokenizer_from_gguf_name("gpt-2") == PreTokenizerKind::gpt2);
    CHECK_FALSE(pre_tokenizer_from_gguf_name("mystery").has_value());
    CHECK(pre_tokenizer_from_regex(R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)") ==
          PreTokenizerKind::gpt2);
    CHECK_FALSE(pre_tokenizer_from_regex(R"(\w+)").has_value());
}

TEST_CASE("character classes") {
    using namespace apr::unicode_data;
    CHECK(apr::unicode::char_class('a') == kLetter);
    CHECK(apr::unicode::char_class(0x65E5) == kLetter);   // 日
    CHECK(apr::unicode::char_class(0x0661) == kNumber);   // Arabic-Indic one
    CHECK(apr::unicode::char_class(0x00BD) == kNumber);   // ½ (No)
    CHECK(apr::unicode::char_class(0x3000) == kSpace);    // ideographic space
    CHECK(apr::unicode::char_class(0x0085) == kSpace);    // NEL
    CHECK(apr::unicode::char_class(0x200B) == 0);         // zero width space is not White_Space
    CHECK(apr::unicode::char_class(0x1F999) == 0);        // emoji
    CHECK(apr::unicode::char_class(0x0301) == 0);         // combining mark (Mn)
}

TEST_CASE("NFC matches Python's unicodedata") {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"e\xCC\x81", "\xC3\xA9"},
        {"\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8", "\xEA\xB0\x81"},  // Hangul L V T
        {"a\xCC\xA3\xCC\x82" "b", "\xE1\xBA\xAD" "b"},
        {"\xE2\x84\xA6", "\xCE\xA9"},                  // ohm sign, a singleton
        {"\xCD\x84", "\xCC\x88\xCC\x81"},              // non-starter decomposition
        {"A\xCC\x8A\xCC\x81", "\xC7\xBA"},
        {"\xE0\xA5\x98", "\xE0\xA4\x95\xE0\xA4\xBC"},  // composition exclusion
        {"\xE1\xBB\x87", "\xE1\xBB\x87"},
        {"\xE1\xB8\x8B\xCC\xA3", "\xE1\xB8\x8D\xCC\x87"},
        {"q\xCC\x87\xCC\xA3", "q\xCC\xA3\xCC\x87"},    // canonical reordering
        {"a\xFF\xCC\x81", "a\xFF\xCC\x81"},            // an invalid byte blocks composition
    };
    for (const auto& [in, expected] : cases) {
        INFO("input: [" << in << "]");
        std::string out;
        apr::unicode::append_nfc(in, out);
        CHECK(out == expected);
        if (in == expected) CHECK(apr::unicode::is_nfc_quick(in) == (in.find('\xCC') == std::string::npos));
    }
    CHECK(apr::unicode::is_nfc_quick("plain ASCII and \xC3\xA9 and \xE6\x97\xA5"));
    CHECK_FALSE(apr::unicode::is_nfc_quick("e\xCC\x81"));
    CHECK_FALSE(apr::unicode::is_nfc_quick("\xE2\x84\xA6"));
}

TEST_CASE("UTF-8 repair replaces maximal ill-formed subparts like Python and Rust") {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"\xF0\x9F", "\xEF\xBF\xBD"},
        {"\xE0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD"},
        {"a\xFF" "b", "a\xEF\xBF\xBD" "b"},
        {"\xED\xA0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
        {"\xF4\x90\x80\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
        {"\xC3", "\xEF\xBF\xBD"},
        {"\xE6\x97\xA5\xE6", "\xE6\x97\xA5\xEF\xBF\xBD"},
        {"\xC0\xAF", "\xEF\xBF\xBD\xEF\xBF\xBD"},
    };
    for (const auto& [in, expected] : cases) {
        std::string out;
        CHECK(append_utf8_repaired(in, true, out) == in.size());
        CHECK(out == expected);
    }
    // Not final: an incomplete but valid tail waits for more bytes.
    std::string out;
    CHECK(append_utf8_repaired("ok\xE6\x97", false, out) == 2);
    CHECK(out == "ok");
}

TEST_CASE("byte-level alphabet") {
    CHECK(byte_level_alphabet()[' '] == 0x120);  // 'Ġ'
    CHECK(byte_level_alphabet()['\n'] == 0x10A);  // 'Ċ'
    CHECK(byte_level_alphabet()['A'] == 'A');
    std::string all;
    for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
    std::string back;
    REQUIRE(byte_level_decode(byte_level_encode(all), back));
    CHECK(back == all);
    CHECK_FALSE(byte_level_decode(" not in the alphabet", back));
}
