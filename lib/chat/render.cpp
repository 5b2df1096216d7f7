#include "chat/render.hpp"

#include "chat/builtins.hpp"
#include "core/fail.hpp"

namespace apr::chat {

std::string Renderer::render(const Template& tmpl, Scope globals) {
    scopes_.clear();
    scopes_.push_back(std::move(globals));
    std::string out;
    out_ = &out;
    steps_ = 0;
    call_depth_ = 0;
    const Flow flow = exec_body(tmpl.body);
    if (flow != Flow::normal) fail(ErrorCode::bad_format, "chat template: 'break' or 'continue' outside a loop");
    out_ = nullptr;
    return out;
}

void Renderer::count_step() {
    if (++steps_ > limits_.max_steps)
        throw TemplateError(ErrorCode::invalid_argument,
                            fmt::format("rendering exceeded {} evaluation steps (runaway loop?)", limits_.max_steps));
}

void Renderer::charge(uint64_t units) {
    steps_ += units;
    count_step();
}

void Renderer::check_size(size_t bytes) const {
    if (bytes > limits_.max_output_bytes)
        throw TemplateError(ErrorCode::invalid_argument,
                            fmt::format("a string would exceed the limit of {} bytes", limits_.max_output_bytes));
}

void Renderer::check_items(size_t items) const {
    if (items > limits_.max_list_items)
        throw TemplateError(ErrorCode::invalid_argument,
                            fmt::format("a list would exceed the limit of {} items", limits_.max_list_items));
}

void Renderer::emit(std::string_view text) {
    charge_bytes(text.size());
    if (out_->size() + text.size() > limits_.max_output_bytes)
        throw TemplateError(ErrorCode::invalid_argument,
                            fmt::format("rendered text exceeds the limit of {} bytes", limits_.max_output_bytes));
    out_->append(text);
}

Renderer::Flow Renderer::exec_body(const Body& body) {
    for (const auto& stmt : body) {
        const Flow flow = exec(*stmt);
        if (flow != Flow::normal) return flow;
    }
    return Flow::normal;
}

Renderer::Flow Renderer::exec(const Stmt& stmt) {
    try {
        count_step();
        switch (stmt.kind) {
            case StmtKind::text: emit(stmt.text); break;
            case StmtKind::output: {
                const Value value = eval(*stmt.exprs[0]);
                if (value.is_string()) emit(value.as_string());
                else emit(to_str(value, limits_.max_output_bytes));
                break;
            }
            case StmtKind::if_:
                for (size_t i = 0; i < stmt.exprs.size(); ++i)
                    if (eval(*stmt.exprs[i]).truthy()) return exec_body(stmt.bodies[i]);
                if (stmt.bodies.size() > stmt.exprs.size()) return exec_body(stmt.bodies.back());
                break;
            case StmtKind::for_: return exec_for(stmt);
            case StmtKind::set: exec_set(stmt); break;
            case StmtKind::macro: define_macro(stmt); break;
            case StmtKind::break_: return Flow::break_loop;
            case StmtKind::continue_: return Flow::continue_loop;
            case StmtKind::block: return exec_body(stmt.bodies[0]);
        }
    } catch (const TemplateError& e) {
        throw Error(e.code(), fmt::format("chat template:{}:{}: {}", stmt.pos.line, stmt.pos.column, e.what()));
    }
    return Flow::normal;
}

namespace {

// Binds loop targets: one name takes the item, several unpack it.
void bind_targets(Scope& scope, const std::vector<std::string>& names, const Value& item) {
    if (names.size() == 1) {
        scope[names[0]] = item;
        return;
    }
    if (!item.is_array() || item.as_array().size() != names.size())
        template_error("cannot unpack a {} into {} names", item.type_name(), names.size());
    for (size_t i = 0; i < names.size(); ++i) scope[names[i]] = item.as_array()[i];
}

}  // namespace

Renderer::Flow Renderer::exec_for(const Stmt& stmt) {
    const Value iterable = eval(*stmt.exprs[0]);
    // Lists are walked in place; dicts and strings become lists of keys/characters.
    Array converted;
    const Array* items = &converted;
    if (iterable.is_array()) items = &iterable.as_array();
    else converted = iterate(iterable);
    charge(items->size());
    Array kept;
    if (stmt.exprs[1]) {  // {% for x in xs if cond %}: filter before loop.* is computed
        for (const Value& item : *items) {
            count_step();
            scopes_.emplace_back();
            bind_targets(scopes_.back(), stmt.names, item);
            bool keep = false;
            try {
                keep = eval(*stmt.exprs[1]).truthy();
            } catch (...) {
                scopes_.pop_back();
                throw;
            }
            scopes_.pop_back();
            if (keep) kept.push_back(item);
        }
        items = &kept;
    }
    if (items->empty()) {
        if (stmt.bodies.size() > 1) return exec_body(stmt.bodies[1]);
        return Flow::normal;
    }
    const auto n = static_cast<int64_t>(items->size());
    // One cycle() per loop, reading the loop's current position (a saved
    // `{% set outer = loop %}` keeps following its own loop, as in Jinja2).
    const auto position = std::make_shared<int64_t>(0);
    const Value cycle = Value::function("loop.cycle", [position](Renderer&, CallArgs& args) {
        if (args.positional.empty()) template_error("loop.cycle() needs at least one value");
        return args.positional[static_cast<size_t>(*position) % args.positional.size()];
    });
    const Value no_item = Value::undefined();
    for (int64_t i = 0; i < n; ++i) {
        count_step();
        const auto at = static_cast<size_t>(i);
        Scope scope;
        bind_targets(scope, stmt.names, (*items)[at]);
        Object loop;
        loop.reserve(10);
        loop.append_distinct("index0", Value::integer(i));
        loop.append_distinct("index", Value::integer(i + 1));
        loop.append_distinct("revindex0", Value::integer(n - i - 1));
        loop.append_distinct("revindex", Value::integer(n - i));
        loop.append_distinct("first", Value::boolean(i == 0));
        loop.append_distinct("last", Value::boolean(i == n - 1));
        loop.append_distinct("length", Value::integer(n));
        loop.append_distinct("previtem", i > 0 ? (*items)[at - 1] : no_item);
        loop.append_distinct("nextitem", i + 1 < n ? (*items)[at + 1] : no_item);
        loop.append_distinct("cycle", cycle);
        scope["loop"] = Value::object(std::move(loop));
        scopes_.push_back(std::move(scope));
        *position = i;
        Flow flow;
        try {
            flow = exec_body(stmt.bodies[0]);
        } catch (...) {
            scopes_.pop_back();
            throw;
        }
        scopes_.pop_back();
        if (flow == Flow::break_loop) break;
    }
    return Flow::normal;
}

void Renderer::exec_set(const Stmt& stmt) {
    Value value;
    if (stmt.exprs.empty()) {  // {% set x %}...{% endset %} captures rendered text
        std::string captured;
        std::string* saved = out_;
        out_ = &captured;
        try {
            if (exec_body(stmt.bodies[0]) != Flow::normal) template_error("'break' or 'continue' inside 'set'");
        } catch (...) {
            out_ = saved;
            throw;
        }
        out_ = saved;
        value = Value::string(std::move(captured));
    } else {
        value = eval(*stmt.exprs[0]);
    }
    if (!stmt.attr.empty()) {
        const Value target = lookup(stmt.names[0]);
        if (!target.is_namespace())
            template_error("cannot assign attribute '{}' on '{}' ({}): only namespace() objects take attributes",
                           stmt.attr, stmt.names[0], target.type_name());
        // A namespace holding a namespace could form a cycle that is never freed.
        if (value.holds_namespace()) template_error("a namespace attribute cannot hold a namespace");
        target.namespace_object().set(stmt.attr, std::move(value));
        return;
    }
    if (stmt.names.size() == 1) {
        assign(stmt.names[0], std::move(value));
        return;
    }
    if (!value.is_array() || value.as_array().size() != stmt.names.size())
        template_error("cannot unpack a {} into {} names", value.type_name(), stmt.names.size());
    for (size_t i = 0; i < stmt.names.size(); ++i) assign(stmt.names[i], value.as_array()[i]);
}

void Renderer::define_macro(const Stmt& stmt) {
    const Stmt* macro = &stmt;
    assign(stmt.text, Value::function(stmt.text, [macro](Renderer& r, CallArgs& args) {
               return r.call_macro(*macro, args);
           }));
}

Value Renderer::call_macro(const Stmt& macro, CallArgs& args) {
    if (call_depth_ >= limits_.max_call_depth)
        template_error("macro calls nest deeper than {} levels", limits_.max_call_depth);
    if (args.positional.size() > macro.names.size())
        template_error("macro '{}' takes {} arguments, {} given", macro.text, macro.names.size(), args.positional.size());
    Scope frame;
    for (size_t i = 0; i < macro.names.size(); ++i) {
        if (i < args.positional.size()) {
            frame[macro.names[i]] = args.positional[i];
        } else if (macro.exprs[i]) {
            frame[macro.names[i]] = eval(*macro.exprs[i]);
        } else {
            frame[macro.names[i]] = Value::undefined(macro.names[i]);
        }
    }
    for (auto& [key, value] : args.keyword) {
        bool known = false;
        for (const auto& name : macro.names) known = known || name == key;
        if (!known) template_error("macro '{}' has no parameter '{}'", macro.text, key);
        frame[key] = value;
    }
    // A macro sees the template's top-level variables and its own parameters.
    charge(scopes_.front().size());
    std::vector<Scope> saved_scopes;
    saved_scopes.swap(scopes_);
    scopes_.push_back(saved_scopes.front());
    scopes_.push_back(std::move(frame));
    std::string captured;
    std::string* saved_out = out_;
    out_ = &captured;
    ++call_depth_;
    auto restore = [&] {
        --call_depth_;
        out_ = saved_out;
        scopes_.swap(saved_scopes);
    };
    try {
        exec_body(macro.bodies[0]);
    } catch (...) {
        restore();
        throw;
    }
    restore();
    return Value::string(std::move(captured));
}

Value Renderer::lookup(std::string_view name) const {
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
        auto found = it->find(name);
        if (found != it->end()) return found->second;
    }
    Value builtin = global_function(name);
    if (!builtin.is_undefined()) return builtin;
    return Value::undefined(std::string(name));
}

void Renderer::assign(const std::string& name, Value value) { scopes_.back()[name] = std::move(value); }

Value Renderer::call(const Value& function, CallArgs& args) {
    if (!function.is_function()) {
        if (function.is_undefined()) undefined_error(function);
        template_error("'{}' object is not callable", function.type_name());
    }
    return function.as_function()(*this, args);
}

CallArgs Renderer::eval_args(const Expr& expr, size_t first) {
    CallArgs args;
    const size_t keyword_start = expr.args.size() - expr.keywords.size();
    for (size_t i = first; i < keyword_start; ++i) args.positional.push_back(eval(*expr.args[i]));
    for (size_t i = 0; i < expr.keywords.size(); ++i)
        args.keyword.emplace_back(expr.keywords[i], eval(*expr.args[keyword_start + i]));
    return args;
}

Value Renderer::eval(const Expr& expr) {
    try {
        count_step();
        return eval_node(expr);
    } catch (const TemplateError& e) {
        throw Error(e.code(), fmt::format("chat template:{}:{}: {}", expr.pos.line, expr.pos.column, e.what()));
    }
}

Value Renderer::eval_node(const Expr& expr) {
    switch (expr.kind) {
        case ExprKind::literal: return expr.literal;
        case ExprKind::name: return lookup(expr.name);
        case ExprKind::list: {
            Array items;
            for (const auto& arg : expr.args) items.push_back(eval(*arg));
            return Value::array(std::move(items));
        }
        case ExprKind::dict: {
            Object object;
            for (size_t i = 0; i + 1 < expr.args.size(); i += 2) {
                const Value key = eval(*expr.args[i]);
                if (!key.is_string()) template_error("dict keys must be strings, not {}", key.type_name());
                object.set(key.as_string(), eval(*expr.args[i + 1]));
            }
            return Value::object(std::move(object));
        }
        case ExprKind::get_attr: return get_attribute(eval(*expr.args[0]), expr.name);
        case ExprKind::get_item: {
            const Value target = eval(*expr.args[0]);
            if (target.is_string()) charge_bytes(target.as_string().size());  // indexes by code point
            return get_item(target, eval(*expr.args[1]));
        }
        case ExprKind::slice: {
            const Value target = eval(*expr.args[0]);
            if (target.is_string()) charge_bytes(target.as_string().size());
            Value bounds[3];
            for (int i = 0; i < 3; ++i)
                if (expr.args[1 + i]) bounds[i] = eval(*expr.args[1 + i]);
            Value result = slice_value(target, bounds[0], bounds[1], bounds[2]);
            if (result.is_array()) charge(result.as_array().size());
            else charge_bytes(result.as_string().size());
            return result;
        }
        case ExprKind::call: {
            const Value function = eval(*expr.args[0]);
            CallArgs args = eval_args(expr, 1);
            return call(function, args);
        }
        case ExprKind::filter: {
            const Value operand = eval(*expr.args[0]);
            CallArgs args = eval_args(expr, 1);
            return apply_filter(*this, expr.name, operand, args);
        }
        case ExprKind::test: {
            // `x is defined` must not fail on an undefined x, so evaluate leniently.
            const Value operand = eval(*expr.args[0]);
            CallArgs args = eval_args(expr, 1);
            for (const Value& arg : args.positional) {  // `x is in big_list` scans it
                if (arg.is_array()) charge(arg.as_array().size());
                if (arg.is_string()) charge_bytes(arg.as_string().size());
            }
            return Value::boolean(apply_test(*this, expr.name, operand, args) != expr.negated);
        }
        case ExprKind::unary: {
            const Value operand = eval(*expr.args[0]);
            if (expr.name == "not") return Value::boolean(!operand.truthy());
            if (operand.is_undefined()) undefined_error(operand);
            if (operand.is_bool() || operand.is_int()) {
                const int64_t v = operand.is_bool() ? operand.as_bool() : operand.as_int();
                if (expr.name == "-" && v == INT64_MIN) template_error("integer overflow in unary '-'");
                return Value::integer(expr.name == "-" ? -v : v);
            }
            if (operand.is_float()) return Value::floating(expr.name == "-" ? -operand.as_double() : operand.as_double());
            template_error("bad operand type for unary {}: '{}'", expr.name, operand.type_name());
        }
        case ExprKind::binary: {
            if (expr.name == "and") {
                Value left = eval(*expr.args[0]);
                return left.truthy() ? eval(*expr.args[1]) : left;
            }
            if (expr.name == "or") {
                Value left = eval(*expr.args[0]);
                return left.truthy() ? left : eval(*expr.args[1]);
            }
            const Value left = eval(*expr.args[0]);
            const Value right = eval(*expr.args[1]);
            return binary_op(*this, expr.name, left, right);
        }
        case ExprKind::compare: {
            Value left = eval(*expr.args[0]);
            for (size_t i = 0; i < expr.ops.size(); ++i) {
                Value right = eval(*expr.args[i + 1]);
                if (right.is_array()) charge(right.as_array().size());
                if (right.is_string()) charge_bytes(right.as_string().size());
                const std::string& op = expr.ops[i];
                bool result;
                if (op == "==") result = left.equals(right);
                else if (op == "!=") result = !left.equals(right);
                else if (op == "<") result = less_than(left, right);
                else if (op == ">") result = less_than(right, left);
                else if (op == "<=") result = !less_than(right, left);
                else if (op == ">=") result = !less_than(left, right);
                else if (op == "in") result = contains(right, left);
                else result = !contains(right, left);  // "not in"
                if (!result) return Value::boolean(false);
                left = std::move(right);
            }
            return Value::boolean(true);
        }
        case ExprKind::cond:
            if (eval(*expr.args[1]).truthy()) return eval(*expr.args[0]);
            if (expr.args[2]) return eval(*expr.args[2]);
            return Value::undefined();
    }
    template_error("unknown expression kind");
}

}  // namespace apr::chat
