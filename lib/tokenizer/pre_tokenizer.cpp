#include "tokenizer/pre_tokenizer.hpp"

#include "tokenizer/unicode.hpp"
#include "tokenizer/unicode_tables.hpp"

namespace apr::tokenizer {
namespace {

using unicode_data::kLetter;
using unicode_data::kNumber;
using unicode_data::kSpace;

constexpr std::string_view kQwen2Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kLlama3Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kGpt2Regex = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// A view of the text with class lookups at byte offsets.
struct Scanner {
    std::string_view text;

    bool at_end(size_t pos) const { return pos >= text.size(); }
    unicode::ClassifiedUnit at(size_t pos) const { return unicode::classify_at(text, pos); }
    bool is(size_t pos, uint8_t cls) const { return !at_end(pos) && (at(pos).cls & cls); }
    // "Punctuation" here means [^\s\p{L}\p{N}]: in none of the three classes.
    bool is_other(size_t pos) const { return !at_end(pos) && at(pos).cls == 0; }
    bool is_newline(size_t pos) const { return !at_end(pos) && (text[pos] == '\r' || text[pos] == '\n'); }

    // End of the run of characters in `cls` that starts at pos.
    size_t run(size_t pos, uint8_t cls) const {
        while (!at_end(pos)) {
            const auto u = at(pos);
            if (!(u.cls & cls)) break;
            pos += u.length;
        }
        return pos;
    }
    size_t run_other(size_t pos) const {
        while (!at_end(pos)) {
            const auto u = at(pos);
            if (u.cls != 0) break;
            pos += u.length;
        }
        return pos;
    }
    size_t run_newlines(size_t pos) const {
        while (is_newline(pos)) ++pos;
        return pos;
    }
};

// 's|'t|'re|'ve|'m|'ll|'d, optionally case-insensitive. Under Unicode case
// folding U+017F (long s) also matches 's'.
size_t match_contraction(const Scanner& s, size_t pos, bool ignore_case) {
    if (s.text[pos] != '\'') return 0;
    const std::string_view rest = s.text.substr(pos + 1);
    auto lower = [&](size_t i) -> char {
        if (i >= rest.size()) return 0;
        const char c = rest[i];
        return (ignore_case && c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    };
    const char c0 = lower(0);
    if (c0 == 's' || c0 == 't' || c0 == 'm' || c0 == 'd') return 2;
    if (ignore_case && rest.substr(0, 2) == "\xC5\xBF") return 3;  // U+017F
    const char c1 = lower(1);
    if ((c0 == 'r' && c1 == 'e') || (c0 == 'v' && c1 == 'e') || (c0 == 'l' && c1 == 'l')) return 3;
    return 0;
}

// Qwen2 and Llama 3 share everything but the digit group length.
size_t match_qwen_like(const Scanner& s, size_t pos, size_t max_digits) {
    if (size_t n = match_contraction(s, pos, true)) return n;
    const auto first = s.at(pos);
    // [^\r\n\p{L}\p{N}]?\p{L}+
    if (first.cls & kLetter) return s.run(pos, kLetter) - pos;
    if (!(first.cls & kNumber) && !s.is_newline(pos) && s.is(pos + first.length, kLetter))
        return s.run(pos + first.length, kLetter) - pos;
    // \p{N} or \p{N}{1,3}
    if (first.cls & kNumber) {
        size_t end = pos;
        for (size_t i = 0; i < max_digits && s.is(end, kNumber); ++i) end += s.at(end).length;
        return end - pos;
    }
    // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
    if (s.text[pos] == ' ' && s.is_other(pos + 1)) return s.run_newlines(s.run_other(pos + 1)) - pos;
    if (first.cls == 0) return s.run_newlines(s.run_other(pos)) - pos;
    // Only whitespace is left.
    const size_t space_end = s.run(pos, kSpace);
    // \s*[\r\n]+ : backtracking ends the match after the run's last newline.
    for (size_t i = space_end; i > pos; --i) {
        if (s.is_newline(i - 1)) return i - pos;
    }
    // \s+(?!\S) : all of the run at the end of text, else all but its last
    // character (which is then followed by whitespace), when that leaves any.
    if (s.at_end(space_end)) return space_end - pos;
    size_t last = pos;
    for (size_t i = pos; i < space_end; i += s.at(i).length) last = i;
    if (last > pos) return last - pos;
    return space_end - pos;  // \s+
}

size_t match_gpt2(const Scanner& s, size_t pos) {
    if (size_t n = match_contraction(s, pos, false)) return n;
    const size_t after_space = s.text[pos] == ' ' ? pos + 1 : pos;
    if (!s.at_end(after_space)) {
        const auto next = s.at(after_space);
        if (next.cls & kLetter) return s.run(after_space, kLetter) - pos;
        if (next.cls & kNumber) return s.run(after_space, kNumber) - pos;
        if (next.cls == 0) return s.run_other(after_space) - pos;
    }
    const size_t space_end = s.run(pos, kSpace);
    if (space_end == pos) return s.at(pos).length;  // unreachable: every character is in some branch
    if (s.at_end(space_end)) return space_end - pos;
    size_t last = pos;
    for (size_t i = pos; i < space_end; i += s.at(i).length) last = i;
    if (last > pos) return last - pos;
    return space_end - pos;
}

}  // namespace

std::string_view pre_tokenizer_name(PreTokenizerKind kind) {
    switch (kind) {
        case PreTokenizerKind::qwen2: return "qwen2";
        case PreTokenizerKind::llama3: return "llama-bpe";
        case PreTokenizerKind::gpt2: return "gpt2";
    }
    return "unknown";
}

std::string_view pre_tokenizer_regex(PreTokenizerKind kind) {
    switch (kind) {
        case PreTokenizerKind::qwen2: return kQwen2Regex;
        case PreTokenizerKind::llama3: return kLlama3Regex;
        case PreTokenizerKind::gpt2: return kGpt2Regex;
    }
    return kGpt2Regex;
}

std::optional<PreTokenizerKind> pre_tokenizer_from_gguf_name(std::string_view name) {
    // The names llama.cpp's converter writes for these regexes.
    if (name == "qwen2" || name == "deepseek-r1-qwen") return PreTokenizerKind::qwen2;
    if (name == "llama-bpe" || name == "llama3" || name == "llama-v3") return PreTokenizerKind::llama3;
    if (name == "gpt2" || name == "gpt-2" || name == "default") return PreTokenizerKind::gpt2;
    return std::nullopt;
}

std::optional<PreTokenizerKind> pre_tokenizer_from_regex(std::string_view pattern) {
    if (pattern == kQwen2Regex) return PreTokenizerKind::qwen2;
    if (pattern == kLlama3Regex) return PreTokenizerKind::llama3;
    if (pattern == kGpt2Regex) return PreTokenizerKind::gpt2;
    return std::nullopt;
}

void split_words(PreTokenizerKind kind, std::string_view text, std::vector<std::string_view>& words) {
    const Scanner s{text};
    size_t pos = 0;
    while (pos < text.size()) {
        size_t n = 0;
        switch (kind) {
            case PreTokenizerKind::qwen2: n = match_qwen_like(s, pos, 1); break;
            case PreTokenizerKind::llama3: n = match_qwen_like(s, pos, 3); break;
            case PreTokenizerKind::gpt2: n = match_gpt2(s, pos); break;
        }
        if (n == 0) n = s.at(pos).length;  // never empty: always make progress
        words.push_back(text.substr(pos, n));
        pos += n;
    }
}

}  // namespace apr::tokenizer
