// Splits a Jinja2 template into tokens: literal text (already trimmed by the
// whitespace controls), `{{ ... }}` and `{% ... %}` tags with the expression
// tokens inside them. Comments disappear here. Whitespace follows Jinja2 as
// transformers configures it: trim_blocks and lstrip_blocks on, `-`/`+`
// modifiers on tags, newlines normalized to "\n", one trailing newline of the
// template dropped.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace apr::chat {

struct SourcePos {
    int line = 1;
    int column = 1;
};

enum class TokenKind {
    text,         // literal template text
    var_begin,    // {{
    var_end,      // }}
    block_begin,  // {%
    block_end,    // %}
    name,         // identifier or keyword
    string,       // string literal, unescaped
    integer,
    floating,
    op,           // operator or punctuation: + - * / // % ** ~ == != < <= > >= = ( ) [ ] { } , . : |
    eof,
};

struct Token {
    TokenKind kind = TokenKind::eof;
    std::string text;  // text, name, operator, or the string literal's value
    int64_t int_value = 0;
    double float_value = 0;
    SourcePos pos;
};

struct LexOptions {
    bool trim_blocks = true;
    bool lstrip_blocks = true;
};

// Throws apr::Error(bad_format) "chat template:LINE:COL: ..." on unclosed
// tags, comments or strings and on characters no token starts with.
std::vector<Token> lex_template(std::string_view source, const LexOptions& options = {});

}  // namespace apr::chat
