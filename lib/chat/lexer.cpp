#include "chat/lexer.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "chat/value.hpp"
#include "core/fail.hpp"

namespace apr::chat {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Python's str.isspace() / re's \s: the ASCII ones, \x1c-\x1f and the
// Unicode spaces (NBSP, U+2000..U+200A, ideographic space, ...). Whitespace
// control ('-' on tags) and lstrip_blocks strip all of them, as Jinja2 does.
bool is_unicode_space(char32_t c) {
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f) || c == 0x85 || c == 0xa0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

// Length in bytes of the whitespace run that ends `text` / starts at `pos`.
size_t trailing_space_bytes(std::string_view text) {
    const std::u32string chars = utf8_to_u32(text);
    size_t keep = chars.size();
    while (keep > 0 && is_unicode_space(chars[keep - 1])) --keep;
    return text.size() - u32_to_utf8(std::u32string_view(chars).substr(0, keep)).size();
}

size_t skip_unicode_space(std::string_view text, size_t pos) {
    while (pos < text.size()) {
        const auto c = static_cast<unsigned char>(text[pos]);
        if (c < 0x80) {
            if (!is_unicode_space(c)) break;
            ++pos;
            continue;
        }
        const size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : 4;
        const std::u32string cp = utf8_to_u32(text.substr(pos, len));
        if (cp.size() != 1 || !is_unicode_space(cp[0])) break;
        pos += len;
    }
    return pos;
}

bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }
int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Jinja2 turns every line break into "\n" before lexing and drops one
// trailing newline (keep_trailing_newline=False).
std::string normalize_newlines(std::string_view source) {
    std::string out;
    out.reserve(source.size());
    for (size_t i = 0; i < source.size(); ++i) {
        if (source[i] == '\r') {
            out += '\n';
            if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
        } else {
            out += source[i];
        }
    }
    if (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
}

class Lexer {
public:
    Lexer(std::string source, const LexOptions& options) : src_(std::move(source)), options_(options) {
        line_starts_.push_back(0);
        for (size_t i = 0; i < src_.size(); ++i)
            if (src_[i] == '\n') line_starts_.push_back(i + 1);
    }

    std::vector<Token> run() {
        size_t pos = 0;
        bool line_starting = true;
        while (pos < src_.size()) {
            const size_t tag = find_tag_start(pos);
            std::string text = src_.substr(pos, (tag == std::string::npos ? src_.size() : tag) - pos);
            if (tag == std::string::npos) {
                push_text(std::move(text), pos);
                break;
            }
            const char type = src_[tag + 1];  // '{', '%' or '#'
            const char modifier = tag + 2 < src_.size() ? src_[tag + 2] : '\0';
            if (modifier == '-') {
                text.resize(text.size() - trailing_space_bytes(text));
            } else if (modifier != '+' && options_.lstrip_blocks && type != '{') {
                const size_t line_begin = text.rfind('\n') + 1;  // npos + 1 == 0
                if ((line_begin > 0 || line_starting) && skip_unicode_space(text, line_begin) == text.size())
                    text.resize(line_begin);
            }
            push_text(std::move(text), pos);
            size_t after = tag + 2 + ((modifier == '-' || modifier == '+') ? 1 : 0);
            if (type == '#') {
                pos = lex_comment(tag, after, line_starting);
            } else {
                pos = lex_tag(tag, after, type == '%', line_starting);
            }
        }
        Token eof;
        eof.kind = TokenKind::eof;
        eof.pos = pos_of(src_.size());
        tokens_.push_back(eof);
        return std::move(tokens_);
    }

private:
    SourcePos pos_of(size_t offset) const {
        auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
        const size_t line = static_cast<size_t>(it - line_starts_.begin());
        SourcePos p;
        p.line = static_cast<int>(line);
        p.column = static_cast<int>(offset - line_starts_[line - 1]) + 1;
        return p;
    }

    template <typename... Args>
    [[noreturn]] void error_at(size_t offset, fmt::format_string<Args...> format, Args&&... args) const {
        const SourcePos p = pos_of(offset);
        fail(ErrorCode::bad_format, "chat template:{}:{}: {}", p.line, p.column,
             fmt::format(format, std::forward<Args>(args)...));
    }

    size_t find_tag_start(size_t from) const {
        for (size_t i = src_.find('{', from); i != std::string::npos; i = src_.find('{', i + 1)) {
            if (i + 1 < src_.size() && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) return i;
        }
        return std::string::npos;
    }

    void push_text(std::string text, size_t offset) {
        if (text.empty()) return;
        Token t;
        t.kind = TokenKind::text;
        t.text = std::move(text);
        t.pos = pos_of(offset);
        tokens_.push_back(std::move(t));
    }

    void push(TokenKind kind, std::string text, size_t offset) {
        Token t;
        t.kind = kind;
        t.text = std::move(text);
        t.pos = pos_of(offset);
        tokens_.push_back(std::move(t));
    }

    // After a closing tag: '-' eats all whitespace, trim_blocks one newline.
    size_t after_close(size_t pos, char modifier, bool trim, bool& line_starting) const {
        if (modifier == '-') {
            pos = skip_unicode_space(src_, pos);
        } else if (modifier != '+' && trim && pos < src_.size() && src_[pos] == '\n') {
            ++pos;
        }
        line_starting = pos > 0 && src_[pos - 1] == '\n';
        return pos;
    }

    size_t lex_comment(size_t tag, size_t after, bool& line_starting) {
        const size_t end = src_.find("#}", after);
        if (end == std::string::npos) error_at(tag, "comment is never closed with '#}}'");
        const char modifier = end > after && (src_[end - 1] == '-' || src_[end - 1] == '+') ? src_[end - 1] : '\0';
        return after_close(end + 2, modifier, options_.trim_blocks, line_starting);
    }

    size_t lex_tag(size_t tag, size_t pos, bool block, bool& line_starting) {
        const size_t first_token = tokens_.size();
        push(block ? TokenKind::block_begin : TokenKind::var_begin, block ? "{%" : "{{", tag);
        const char close = block ? '%' : '}';
        int depth = 0;  // open brackets: a closing tag inside them is not one (Jinja's balancing)
        while (true) {
            while (pos < src_.size() && is_space(src_[pos])) ++pos;
            if (pos >= src_.size()) error_at(tag, "tag '{}' is never closed", block ? "{%" : "{{");
            const char c = src_[pos];
            if (depth == 0) {
                char modifier = '\0';
                size_t end = pos;
                if ((c == '-' || c == '+') && pos + 2 < src_.size() + 0 && src_[pos + 1] == close &&
                    src_[pos + 2] == '}') {
                    modifier = c;
                    end = pos + 1;
                }
                if (src_[end] == close && end + 1 < src_.size() && src_[end + 1] == '}') {
                    push(block ? TokenKind::block_end : TokenKind::var_end, block ? "%}" : "}}", pos);
                    size_t next = after_close(end + 2, modifier, block && options_.trim_blocks, line_starting);
                    if (block && tokens_.size() == first_token + 3 && tokens_[first_token + 1].kind == TokenKind::name &&
                        tokens_[first_token + 1].text == "raw")
                        next = lex_raw(tag, first_token, next, line_starting);
                    return next;
                }
            }
            if (is_name_start(c)) {
                size_t end = pos;
                while (end < src_.size() && is_name_char(src_[end])) ++end;
                push(TokenKind::name, src_.substr(pos, end - pos), pos);
                pos = end;
            } else if (is_digit(c)) {
                pos = lex_number(pos);
            } else if (c == '\'' || c == '"') {
                pos = lex_string(pos);
            } else {
                static constexpr std::string_view kTwo[] = {"//", "**", "==", "!=", "<=", ">="};
                std::string op(1, c);
                for (auto two : kTwo)
                    if (src_.compare(pos, 2, two) == 0) op = std::string(two);
                if (op.size() == 1 && std::string_view("+-*/%~<>=()[]{},.:|").find(c) == std::string_view::npos)
                    error_at(pos, "unexpected character '{}' in a tag", c);
                if (c == '(' || c == '[' || c == '{') ++depth;
                if ((c == ')' || c == ']' || c == '}') && depth > 0) --depth;
                push(TokenKind::op, op, pos);
                pos += op.size();
            }
        }
    }

    // {% raw %}...{% endraw %}: everything between is text.
    size_t lex_raw(size_t tag, size_t first_token, size_t pos, bool& line_starting) {
        tokens_.resize(first_token);
        for (size_t at = src_.find("{%", pos); at != std::string::npos; at = src_.find("{%", at + 2)) {
            size_t p = at + 2;
            const char open_modifier = p < src_.size() ? src_[p] : '\0';
            if (open_modifier == '-' || open_modifier == '+') ++p;
            while (p < src_.size() && is_space(src_[p])) ++p;
            if (src_.compare(p, 6, "endraw") != 0) continue;
            p += 6;
            while (p < src_.size() && is_space(src_[p])) ++p;
            char modifier = '\0';
            if (p < src_.size() && (src_[p] == '-' || src_[p] == '+')) modifier = src_[p++];
            if (src_.compare(p, 2, "%}") != 0) continue;
            std::string text = src_.substr(pos, at - pos);
            if (open_modifier == '-') text.resize(text.size() - trailing_space_bytes(text));
            push_text(std::move(text), pos);
            return after_close(p + 2, modifier, options_.trim_blocks, line_starting);
        }
        error_at(tag, "'raw' block is never closed with 'endraw'");
    }

    size_t lex_number(size_t pos) {
        const size_t start = pos;
        std::string digits;
        auto take_digits = [&] {
            while (pos < src_.size() && (is_digit(src_[pos]) || (src_[pos] == '_' && pos + 1 < src_.size() &&
                                                                 is_digit(src_[pos + 1])))) {
                if (src_[pos] != '_') digits += src_[pos];
                ++pos;
            }
        };
        take_digits();
        bool is_float = false;
        if (pos + 1 < src_.size() && src_[pos] == '.' && is_digit(src_[pos + 1])) {
            is_float = true;
            digits += src_[pos++];
            take_digits();
        }
        if (pos < src_.size() && (src_[pos] == 'e' || src_[pos] == 'E')) {
            size_t p = pos + 1;
            if (p < src_.size() && (src_[p] == '+' || src_[p] == '-')) ++p;
            if (p < src_.size() && is_digit(src_[p])) {
                is_float = true;
                digits += 'e';
                digits += src_.substr(pos + 1, p - pos - 1);
                pos = p;
                take_digits();
            }
        }
        Token t;
        t.pos = pos_of(start);
        t.text = src_.substr(start, pos - start);
        if (is_float) {
            t.kind = TokenKind::floating;
            t.float_value = std::strtod(digits.c_str(), nullptr);
        } else {
            t.kind = TokenKind::integer;
            errno = 0;
            const unsigned long long v = std::strtoull(digits.c_str(), nullptr, 10);
            if (errno == ERANGE || v > static_cast<unsigned long long>(INT64_MAX))
                error_at(start, "integer literal {} is too large", t.text);
            t.int_value = static_cast<int64_t>(v);
        }
        tokens_.push_back(std::move(t));
        return pos;
    }

    // Python string-literal escapes, as Jinja2 decodes them ("unicode-escape").
    size_t lex_string(size_t pos) {
        const size_t start = pos;
        const char quote = src_[pos++];
        std::u32string value;
        std::string raw;
        while (true) {
            if (pos >= src_.size()) error_at(start, "string literal is never closed");
            const char c = src_[pos];
            if (c == quote) break;
            if (c != '\\') {
                // Copy a run of ordinary bytes at once.
                size_t end = pos;
                while (end < src_.size() && src_[end] != quote && src_[end] != '\\') ++end;
                value += utf8_to_u32(std::string_view(src_).substr(pos, end - pos));
                pos = end;
                continue;
            }
            if (pos + 1 >= src_.size()) error_at(start, "string literal is never closed");
            const char e = src_[pos + 1];
            pos += 2;
            switch (e) {
                case 'n': value += U'\n'; break;
                case 't': value += U'\t'; break;
                case 'r': value += U'\r'; break;
                case '\\': value += U'\\'; break;
                case '\'': value += U'\''; break;
                case '"': value += U'"'; break;
                case 'a': value += U'\a'; break;
                case 'b': value += U'\b'; break;
                case 'f': value += U'\f'; break;
                case 'v': value += U'\v'; break;
                case '\n': break;  // line continuation
                case 'x':
                case 'u':
                case 'U': {
                    const int count = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                    char32_t cp = 0;
                    for (int k = 0; k < count; ++k) {
                        const int h = pos < src_.size() ? hex_value(src_[pos]) : -1;
                        if (h < 0) error_at(pos - 2 - k, "truncated \\{} escape in a string literal", e);
                        cp = cp * 16 + static_cast<char32_t>(h);
                        ++pos;
                    }
                    if (cp > 0x10FFFF) error_at(pos - count - 2, "\\{} escape is beyond U+10FFFF", e);
                    value += cp;
                    break;
                }
                default:
                    if (e >= '0' && e <= '7') {  // up to three octal digits
                        char32_t cp = static_cast<char32_t>(e - '0');
                        for (int k = 0; k < 2 && pos < src_.size() && src_[pos] >= '0' && src_[pos] <= '7'; ++k)
                            cp = cp * 8 + static_cast<char32_t>(src_[pos++] - '0');
                        value += cp;
                    } else {  // unknown escapes stay as written
                        value += U'\\';
                        pos -= 1;
                    }
            }
        }
        Token t;
        t.kind = TokenKind::string;
        t.pos = pos_of(start);
        t.text = u32_to_utf8(value);
        tokens_.push_back(std::move(t));
        return pos + 1;
    }

    std::string src_;
    LexOptions options_;
    std::vector<size_t> line_starts_;
    std::vector<Token> tokens_;
};

}  // namespace

std::vector<Token> lex_template(std::string_view source, const LexOptions& options) {
    return Lexer(normalize_newlines(source), options).run();
}

}  // namespace apr::chat
