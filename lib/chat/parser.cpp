#include "chat/parser.hpp"

#include <fmt/format.h>

#include <set>

#include "core/fail.hpp"

namespace apr::chat {

namespace {

class Parser {
public:
    explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

    Template parse() {
        Template t;
        std::string end;
        t.body = parse_body({}, end);
        return t;
    }

private:
    // ---- token helpers -------------------------------------------------
    const Token& peek(size_t ahead = 0) const {
        const size_t i = std::min(pos_ + ahead, tokens_.size() - 1);
        return tokens_[i];
    }
    const Token& next() {
        const Token& t = tokens_[pos_];
        if (pos_ + 1 < tokens_.size()) ++pos_;
        return t;
    }
    bool is_op(std::string_view op, size_t ahead = 0) const {
        return peek(ahead).kind == TokenKind::op && peek(ahead).text == op;
    }
    bool is_name(std::string_view name, size_t ahead = 0) const {
        return peek(ahead).kind == TokenKind::name && peek(ahead).text == name;
    }
    bool skip_op(std::string_view op) {
        if (!is_op(op)) return false;
        next();
        return true;
    }
    bool skip_name(std::string_view name) {
        if (!is_name(name)) return false;
        next();
        return true;
    }

    static std::string describe(const Token& t) {
        switch (t.kind) {
            case TokenKind::text: return "template text";
            case TokenKind::var_begin: return "'{{'";
            case TokenKind::var_end: return "'}}'";
            case TokenKind::block_begin: return "'{%'";
            case TokenKind::block_end: return "'%}'";
            case TokenKind::name: return fmt::format("'{}'", t.text);
            case TokenKind::string: return "a string";
            case TokenKind::integer:
            case TokenKind::floating: return fmt::format("number {}", t.text);
            case TokenKind::op: return fmt::format("'{}'", t.text);
            case TokenKind::eof: return "the end of the template";
        }
        return "?";
    }

    template <typename... Args>
    [[noreturn]] void error_at(const Token& t, fmt::format_string<Args...> format, Args&&... args) const {
        fail(ErrorCode::bad_format, "chat template:{}:{}: {}", t.pos.line, t.pos.column,
             fmt::format(format, std::forward<Args>(args)...));
    }

    void expect_op(std::string_view op) {
        if (!skip_op(op)) error_at(peek(), "expected '{}', found {}", op, describe(peek()));
    }
    std::string expect_name() {
        if (peek().kind != TokenKind::name) error_at(peek(), "expected a name, found {}", describe(peek()));
        return next().text;
    }
    void expect_block_end(std::string_view tag) {
        if (peek().kind != TokenKind::block_end)
            error_at(peek(), "expected '%}}' to end '{}', found {}", tag, describe(peek()));
        next();
    }

    struct DepthGuard {
        DepthGuard(Parser& p, const Token& at) : parser(p) {
            if (++parser.depth_ > kMaxNesting) parser.error_at(at, "nesting deeper than {} levels", kMaxNesting);
        }
        ~DepthGuard() { --parser.depth_; }
        Parser& parser;
    };

    // Records the node's height and rejects trees deeper than the renderer
    // may recurse (left-deep chains like a.b.c... or 1+1+1... included).
    ExprPtr seal(ExprPtr e) const {
        int height = 0;
        for (const auto& arg : e->args)
            if (arg) height = std::max(height, arg->height);
        e->height = height + 1;
        if (e->height > kMaxExprHeight)
            fail(ErrorCode::bad_format, "chat template:{}:{}: expression nests deeper than {} levels", e->pos.line,
                 e->pos.column, kMaxExprHeight);
        return e;
    }

    static ExprPtr make(ExprKind kind, const Token& at) {
        auto e = std::make_unique<Expr>();
        e->kind = kind;
        e->pos = at.pos;
        return e;
    }

    // ---- statements ----------------------------------------------------
    // Parses statements until a block tag whose keyword is in `ends`; that
    // keyword is stored in `end` (the tag's '%}' is left for the caller).
    Body parse_body(const std::set<std::string_view>& ends, std::string& end) {
        Body body;
        while (true) {
            const Token& t = peek();
            if (t.kind == TokenKind::eof) {
                if (!ends.empty())
                    error_at(t, "unexpected end of template; expected {}", fmt::join(ends, " or "));
                return body;
            }
            if (t.kind == TokenKind::text) {
                auto s = std::make_unique<Stmt>();
                s->kind = StmtKind::text;
                s->pos = t.pos;
                s->text = next().text;
                body.push_back(std::move(s));
            } else if (t.kind == TokenKind::var_begin) {
                auto s = std::make_unique<Stmt>();
                s->kind = StmtKind::output;
                s->pos = next().pos;
                s->exprs.push_back(parse_tuple());
                if (peek().kind != TokenKind::var_end)
                    error_at(peek(), "expected '}}}}' to end the expression, found {}", describe(peek()));
                next();
                body.push_back(std::move(s));
            } else if (t.kind == TokenKind::block_begin) {
                const Token& keyword = peek(1);
                if (keyword.kind != TokenKind::name) error_at(keyword, "expected a tag name after '{{%'");
                if (ends.count(keyword.text)) {
                    next();
                    end = next().text;
                    return body;
                }
                next();
                body.push_back(parse_statement());
            } else {
                error_at(t, "unexpected {}", describe(t));
            }
        }
    }

    StmtPtr parse_statement() {
        const Token& keyword = next();
        DepthGuard guard(*this, keyword);
        auto s = std::make_unique<Stmt>();
        s->pos = keyword.pos;
        const std::string& k = keyword.text;
        if (k == "if") {
            s->kind = StmtKind::if_;
            s->exprs.push_back(parse_tuple());
            expect_block_end("if");
            while (true) {
                std::string end;
                s->bodies.push_back(parse_body({"elif", "else", "endif"}, end));
                if (end == "elif") {
                    s->exprs.push_back(parse_tuple());
                    expect_block_end("elif");
                } else if (end == "else") {
                    expect_block_end("else");
                    s->bodies.push_back(parse_body({"endif"}, end));
                    expect_block_end("endif");
                    break;
                } else {
                    expect_block_end("endif");
                    break;
                }
            }
        } else if (k == "for") {
            s->kind = StmtKind::for_;
            do {
                s->names.push_back(expect_name());
            } while (skip_op(","));
            if (!skip_name("in")) error_at(peek(), "expected 'in' in 'for', found {}", describe(peek()));
            s->exprs.push_back(parse_tuple(/*with_condexpr=*/false));
            s->exprs.push_back(skip_name("if") ? parse_expression() : nullptr);
            if (skip_name("recursive")) error_at(keyword, "recursive loops are not supported");
            expect_block_end("for");
            std::string end;
            s->bodies.push_back(parse_body({"else", "endfor"}, end));
            if (end == "else") {
                expect_block_end("else");
                s->bodies.push_back(parse_body({"endfor"}, end));
            }
            expect_block_end("endfor");
        } else if (k == "set") {
            s->kind = StmtKind::set;
            s->names.push_back(expect_name());
            if (skip_op(".")) {
                s->attr = expect_name();
            } else {
                while (skip_op(",")) s->names.push_back(expect_name());
            }
            if (skip_op("=")) {
                s->exprs.push_back(parse_tuple());
                expect_block_end("set");
            } else {
                if (s->names.size() != 1 || !s->attr.empty()) error_at(peek(), "expected '=' in 'set'");
                expect_block_end("set");
                std::string end;
                s->bodies.push_back(parse_body({"endset"}, end));
                expect_block_end("endset");
            }
        } else if (k == "macro") {
            s->kind = StmtKind::macro;
            s->text = expect_name();
            expect_op("(");
            while (!is_op(")")) {
                s->names.push_back(expect_name());
                s->exprs.push_back(skip_op("=") ? parse_expression() : nullptr);
                if (!skip_op(",")) break;
            }
            expect_op(")");
            expect_block_end("macro");
            std::string end;
            s->bodies.push_back(parse_body({"endmacro"}, end));
            expect_block_end("endmacro");
        } else if (k == "break" || k == "continue") {
            s->kind = k == "break" ? StmtKind::break_ : StmtKind::continue_;
            expect_block_end(k);
        } else if (k == "generation") {
            // transformers' AssistantTracker tag: marks assistant text, renders as is.
            s->kind = StmtKind::block;
            expect_block_end(k);
            std::string end;
            s->bodies.push_back(parse_body({"endgeneration"}, end));
            expect_block_end("endgeneration");
        } else {
            error_at(keyword, "unknown or unsupported tag '{}'", k);
        }
        return s;
    }

    // ---- expressions (Jinja2's precedence, lowest first) -----------------
    // A comma-separated list without brackets is a tuple: `set a = 1, 2`.
    ExprPtr parse_tuple(bool with_condexpr = true) {
        const Token& start = peek();
        ExprPtr first = with_condexpr ? parse_expression() : parse_or();
        if (!is_op(",")) return first;
        auto list = make(ExprKind::list, start);
        list->args.push_back(std::move(first));
        while (skip_op(",")) {
            if (peek().kind == TokenKind::block_end || peek().kind == TokenKind::var_end || is_op(")")) break;
            list->args.push_back(with_condexpr ? parse_expression() : parse_or());
        }
        return seal(std::move(list));
    }

    ExprPtr parse_expression() {
        DepthGuard guard(*this, peek());
        ExprPtr expr = parse_or();
        while (is_name("if")) {
            const Token& at = next();
            auto cond = make(ExprKind::cond, at);
            cond->args.push_back(std::move(expr));
            cond->args.push_back(parse_or());
            cond->args.push_back(skip_name("else") ? parse_expression() : nullptr);
            expr = seal(std::move(cond));
        }
        return expr;
    }

    ExprPtr binary(const Token& at, std::string op, ExprPtr left, ExprPtr right) {
        auto e = make(ExprKind::binary, at);
        e->name = std::move(op);
        e->args.push_back(std::move(left));
        e->args.push_back(std::move(right));
        return seal(std::move(e));
    }

    ExprPtr parse_or() {
        ExprPtr left = parse_and();
        while (is_name("or")) {
            const Token& at = next();
            left = binary(at, "or", std::move(left), parse_and());
        }
        return left;
    }

    ExprPtr parse_and() {
        ExprPtr left = parse_not();
        while (is_name("and")) {
            const Token& at = next();
            left = binary(at, "and", std::move(left), parse_not());
        }
        return left;
    }

    ExprPtr parse_not() {
        if (is_name("not")) {
            const Token& at = next();
            DepthGuard guard(*this, at);
            auto e = make(ExprKind::unary, at);
            e->name = "not";
            e->args.push_back(parse_not());
            return seal(std::move(e));
        }
        return parse_compare();
    }

    ExprPtr parse_compare() {
        const Token& start = peek();
        ExprPtr first = parse_math1();
        ExprPtr cmp;
        while (true) {
            std::string op;
            const Token& t = peek();
            if (t.kind == TokenKind::op &&
                (t.text == "==" || t.text == "!=" || t.text == "<" || t.text == "<=" || t.text == ">" || t.text == ">=")) {
                op = t.text;
                next();
            } else if (is_name("in")) {
                op = "in";
                next();
            } else if (is_name("not") && is_name("in", 1)) {
                op = "not in";
                next();
                next();
            } else {
                break;
            }
            if (!cmp) {
                cmp = make(ExprKind::compare, start);
                cmp->args.push_back(std::move(first));
            }
            cmp->ops.push_back(op);
            cmp->args.push_back(parse_math1());
            if (cmp->args.size() > static_cast<size_t>(kMaxExprHeight)) error_at(t, "comparison chain too long");
        }
        return cmp ? seal(std::move(cmp)) : std::move(first);
    }

    ExprPtr parse_math1() {
        ExprPtr left = parse_concat();
        while (is_op("+") || is_op("-")) {
            const Token& at = next();
            left = binary(at, at.text, std::move(left), parse_concat());
        }
        return left;
    }

    ExprPtr parse_concat() {
        ExprPtr left = parse_math2();
        while (is_op("~")) {
            const Token& at = next();
            left = binary(at, "~", std::move(left), parse_math2());
        }
        return left;
    }

    ExprPtr parse_math2() {
        ExprPtr left = parse_pow();
        while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
            const Token& at = next();
            left = binary(at, at.text, std::move(left), parse_pow());
        }
        return left;
    }

    ExprPtr parse_pow() {
        ExprPtr left = parse_unary(true);
        while (is_op("**")) {
            const Token& at = next();
            left = binary(at, "**", std::move(left), parse_unary(true));
        }
        return left;
    }

    ExprPtr parse_unary(bool with_filter) {
        DepthGuard guard(*this, peek());
        ExprPtr node;
        if (is_op("-") || is_op("+")) {
            const Token& at = next();
            node = make(ExprKind::unary, at);
            node->name = at.text;
            node->args.push_back(parse_unary(false));
            node = seal(std::move(node));
        } else {
            node = parse_primary();
        }
        node = parse_postfix(std::move(node));
        if (with_filter) node = parse_filters_and_tests(std::move(node));
        return node;
    }

    ExprPtr parse_primary() {
        const Token& t = peek();
        switch (t.kind) {
            case TokenKind::name: {
                next();
                auto e = make(ExprKind::literal, t);
                if (t.text == "true" || t.text == "True") e->literal = Value::boolean(true);
                else if (t.text == "false" || t.text == "False") e->literal = Value::boolean(false);
                else if (t.text == "none" || t.text == "None") e->literal = Value::none();
                else {
                    e->kind = ExprKind::name;
                    e->name = t.text;
                }
                return e;
            }
            case TokenKind::string: {
                auto e = make(ExprKind::literal, t);
                std::string value = next().text;
                while (peek().kind == TokenKind::string) value += next().text;  // "a" "b" concatenates
                e->literal = Value::string(std::move(value));
                return e;
            }
            case TokenKind::integer: {
                auto e = make(ExprKind::literal, t);
                e->literal = Value::integer(next().int_value);
                return e;
            }
            case TokenKind::floating: {
                auto e = make(ExprKind::literal, t);
                e->literal = Value::floating(next().float_value);
                return e;
            }
            case TokenKind::op:
                if (t.text == "(") {
                    next();
                    if (skip_op(")")) return make(ExprKind::list, t);  // empty tuple
                    ExprPtr inner = parse_tuple();
                    expect_op(")");
                    return inner;
                }
                if (t.text == "[") {
                    next();
                    auto e = make(ExprKind::list, t);
                    while (!is_op("]")) {
                        e->args.push_back(parse_expression());
                        if (!skip_op(",")) break;
                    }
                    expect_op("]");
                    return seal(std::move(e));
                }
                if (t.text == "{") {
                    next();
                    auto e = make(ExprKind::dict, t);
                    while (!is_op("}")) {
                        e->args.push_back(parse_expression());
                        expect_op(":");
                        e->args.push_back(parse_expression());
                        if (!skip_op(",")) break;
                    }
                    expect_op("}");
                    return seal(std::move(e));
                }
                break;
            default: break;
        }
        error_at(t, "expected an expression, found {}", describe(t));
    }

    ExprPtr parse_postfix(ExprPtr node) {
        while (true) {
            const Token& t = peek();
            if (is_op(".")) {
                next();
                const Token& attr = next();
                if (attr.kind != TokenKind::name && attr.kind != TokenKind::integer)
                    error_at(attr, "expected an attribute name after '.', found {}", describe(attr));
                auto e = make(attr.kind == TokenKind::name ? ExprKind::get_attr : ExprKind::get_item, t);
                e->args.push_back(std::move(node));
                if (attr.kind == TokenKind::name) {
                    e->name = attr.text;
                } else {
                    auto index = make(ExprKind::literal, attr);
                    index->literal = Value::integer(attr.int_value);
                    e->args.push_back(std::move(index));
                }
                node = seal(std::move(e));
            } else if (is_op("[")) {
                next();
                node = parse_subscript(std::move(node), t);
            } else if (is_op("(")) {
                next();
                auto e = make(ExprKind::call, t);
                e->args.push_back(std::move(node));
                parse_call_args(*e);
                node = seal(std::move(e));
            } else {
                return node;
            }
        }
    }

    ExprPtr parse_subscript(ExprPtr target, const Token& at) {
        ExprPtr parts[3];
        int colons = 0;
        while (!is_op("]")) {
            if (skip_op(":")) {
                if (++colons > 2) error_at(peek(), "too many ':' in a slice");
                continue;
            }
            if (parts[colons]) error_at(peek(), "expected ':' or ']' in a subscript, found {}", describe(peek()));
            parts[colons] = parse_expression();
        }
        expect_op("]");
        if (colons == 0) {
            if (!parts[0]) error_at(at, "empty subscript '[]'");
            auto e = make(ExprKind::get_item, at);
            e->args.push_back(std::move(target));
            e->args.push_back(std::move(parts[0]));
            return seal(std::move(e));
        }
        auto e = make(ExprKind::slice, at);
        e->args.push_back(std::move(target));
        for (auto& part : parts) e->args.push_back(std::move(part));
        return seal(std::move(e));
    }

    // After '(': positional arguments, then name=value keyword arguments.
    void parse_call_args(Expr& e) {
        while (!is_op(")")) {
            if (peek().kind == TokenKind::name && is_op("=", 1)) {
                e.keywords.push_back(next().text);
                next();
                e.args.push_back(parse_expression());
            } else {
                if (!e.keywords.empty()) error_at(peek(), "positional argument after a keyword argument");
                e.args.push_back(parse_expression());
            }
            if (!skip_op(",")) break;
        }
        expect_op(")");
    }

    ExprPtr parse_filters_and_tests(ExprPtr node) {
        while (true) {
            if (is_op("|")) {
                const Token& at = next();
                auto e = make(ExprKind::filter, at);
                e->name = expect_name();
                while (skip_op(".")) e->name += "." + expect_name();
                e->args.push_back(std::move(node));
                if (skip_op("(")) parse_call_args(*e);
                node = seal(std::move(e));
            } else if (is_name("is")) {
                const Token& at = next();
                auto e = make(ExprKind::test, at);
                e->negated = skip_name("not");
                e->name = expect_name();
                e->args.push_back(std::move(node));
                if (skip_op("(")) {
                    parse_call_args(*e);
                } else {
                    // `is divisibleby 3`, `is sameas none`: one bare argument.
                    const Token& t = peek();
                    const bool starts_arg = t.kind == TokenKind::name || t.kind == TokenKind::string ||
                                            t.kind == TokenKind::integer || t.kind == TokenKind::floating ||
                                            is_op("(") || is_op("[") || is_op("{");
                    if (starts_arg && !is_name("else") && !is_name("or") && !is_name("and") && !is_name("is") &&
                        !is_name("if") && !is_name("in") && !is_name("not"))
                        e->args.push_back(parse_postfix(parse_primary()));
                }
                node = seal(std::move(e));
            } else if (is_op("(")) {
                const Token& at = next();
                auto e = make(ExprKind::call, at);
                e->args.push_back(std::move(node));
                parse_call_args(*e);
                node = seal(std::move(e));
            } else {
                return node;
            }
        }
    }

    std::vector<Token> tokens_;
    size_t pos_ = 0;
    int depth_ = 0;
};

}  // namespace

Template parse_template(std::string_view source) { return Parser(lex_template(source)).parse(); }

}  // namespace apr::chat
