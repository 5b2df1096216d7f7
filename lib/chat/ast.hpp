// The parsed form of a chat template: expression and statement nodes.
// Nodes are generic (a kind plus operands) rather than one class per node,
// which keeps the parser and the renderer each in one readable switch.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "chat/lexer.hpp"
#include "chat/value.hpp"

namespace apr::chat {

enum class ExprKind {
    literal,   // literal
    name,      // name
    list,      // args: items (tuples are lists too)
    dict,      // args: key0, value0, key1, value1, ...
    get_attr,  // args[0].name
    get_item,  // args[0][args[1]]
    slice,     // args[0][args[1]:args[2]:args[3]], absent bounds are null
    call,      // args[0](args[1..]); the last keywords.size() args are keyword values
    filter,    // args[0] | name(args[1..]), keywords as for call
    test,      // args[0] is [not] name(args[1..]); negated
    unary,     // name in {"not", "-", "+"}: args[0]
    binary,    // name in {"and", "or", "+", "-", "*", "/", "//", "%", "**", "~"}: args[0], args[1]
    compare,   // args[0] ops[0] args[1] ops[1] args[2] ... (chained like Python)
    cond,      // args[0] if args[1] else args[2] (args[2] may be null)
};

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
    ExprKind kind = ExprKind::literal;
    SourcePos pos;
    std::string name;
    Value literal;
    std::vector<ExprPtr> args;
    std::vector<std::string> keywords;
    std::vector<std::string> ops;
    bool negated = false;
    int height = 1;  // longest path to a leaf: bounds the renderer's recursion
};

enum class StmtKind {
    text,        // text
    output,      // {{ exprs[0] }}
    if_,         // exprs: conditions; bodies: one per condition, plus an else body if bodies > exprs
    for_,        // names: targets; exprs[0]: iterable, exprs[1]: filter (may be null); bodies[0]: body, bodies[1]: else
    set,         // names: targets (or one namespace name with attr); exprs[0]: value, or bodies[0] for a block set
    macro,       // text: name; names: parameters; exprs: defaults (null when none); bodies[0]
    break_,
    continue_,
    block,       // a body rendered as is ({% generation %})
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct Stmt {
    StmtKind kind = StmtKind::text;
    SourcePos pos;
    std::string text;
    std::string attr;  // set ns.attr = ...
    std::vector<std::string> names;
    std::vector<ExprPtr> exprs;
    std::vector<Body> bodies;
};

struct Template {
    Body body;
};

}  // namespace apr::chat
