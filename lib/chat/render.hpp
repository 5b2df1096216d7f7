// Renders a parsed template. Rendering is bounded: output size, evaluation
// steps (so nested loops over huge ranges stop) and macro call depth all have
// limits, and every runtime error names the template line and column.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "apr/error.hpp"
#include "chat/ast.hpp"
#include "chat/value.hpp"

namespace apr::chat {

struct RenderLimits {
    size_t max_output_bytes = size_t{16} << 20;  // also caps every string a template builds
    uint64_t max_steps = 2'000'000;              // statements + expression nodes evaluated
    int max_call_depth = 32;                     // macro calls inside macro calls
    size_t max_list_items = 1'000'000;           // range(), list repetition and concatenation
};

// An error raised by a builtin (filter, test, method, operator). The renderer
// adds the position of the expression being evaluated and rethrows it as
// apr::Error.
class TemplateError : public std::runtime_error {
public:
    TemplateError(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
    ErrorCode code() const { return code_; }

private:
    ErrorCode code_;
};

template <typename... Args>
[[noreturn]] void template_error(fmt::format_string<Args...> format, Args&&... args) {
    throw TemplateError(ErrorCode::invalid_argument, fmt::format(format, std::forward<Args>(args)...));
}

using Scope = std::map<std::string, Value, std::less<>>;

class Renderer {
public:
    explicit Renderer(const RenderLimits& limits) : limits_(limits) {}

    // Renders `tmpl` with `globals` as the outermost variables.
    std::string render(const Template& tmpl, Scope globals);

    const RenderLimits& limits() const { return limits_; }
    // Counts one unit of work; throws when the step budget is spent.
    void count_step();
    // Counts work proportional to data: builtins charge one step per list
    // item and per 64 bytes they build or scan, so a loop around range(10**6)
    // or a huge join spends the budget instead of hanging.
    void charge(uint64_t units);
    void charge_bytes(uint64_t bytes) { charge(bytes / 64); }
    // Checks a string or list a builtin is about to build.
    void check_size(size_t bytes) const;
    void check_items(size_t items) const;

    // Calls a function value (builtin, method or macro).
    Value call(const Value& function, CallArgs& args);

private:
    enum class Flow { normal, break_loop, continue_loop };

    Flow exec_body(const Body& body);
    Flow exec(const Stmt& stmt);
    Flow exec_for(const Stmt& stmt);
    void exec_set(const Stmt& stmt);
    void define_macro(const Stmt& stmt);
    Value call_macro(const Stmt& macro, CallArgs& args);

    Value eval(const Expr& expr);
    Value eval_node(const Expr& expr);
    CallArgs eval_args(const Expr& expr, size_t first);
    Value lookup(std::string_view name) const;
    void assign(const std::string& name, Value value);
    void emit(std::string_view text);

    RenderLimits limits_;
    std::vector<Scope> scopes_;
    std::string* out_ = nullptr;
    uint64_t steps_ = 0;
    int call_depth_ = 0;
};

}  // namespace apr::chat
