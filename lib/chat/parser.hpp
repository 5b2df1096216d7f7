// Recursive-descent parser for the Jinja2 subset that chat templates use.
// Nesting is bounded (kMaxNesting) so hostile templates cannot exhaust the
// stack; errors carry the line and column of the offending token.
#pragma once

#include <string_view>

#include "chat/ast.hpp"

namespace apr::chat {

constexpr int kMaxNesting = 100;     // statements, parentheses, unary chains
constexpr int kMaxExprHeight = 200;  // height of one expression tree

// Throws apr::Error(bad_format) "chat template:LINE:COL: ...".
Template parse_template(std::string_view source);

}  // namespace apr::chat
