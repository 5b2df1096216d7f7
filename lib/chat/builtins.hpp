// The library of a chat template: operators, attribute and item access,
// filters, tests, string/dict methods and global functions, with Jinja2's
// (and Python's) semantics for the subset real chat templates use.
#pragma once

#include <string_view>

#include "chat/render.hpp"
#include "chat/value.hpp"

namespace apr::chat {

// ---- operators (operators.cpp) ----
Value binary_op(Renderer& r, std::string_view op, const Value& a, const Value& b);
// Python ordering for <, <=, >, >=; throws TemplateError for unorderable types.
bool less_than(const Value& a, const Value& b);
bool contains(const Value& container, const Value& item);
Value get_attribute(const Value& object, std::string_view name);
Value get_item(const Value& object, const Value& key);
Value slice_value(const Value& object, const Value& start, const Value& stop, const Value& step);
// The items a for loop walks: list items, dict keys, string characters.
Array iterate(const Value& value);
[[noreturn]] void undefined_error(const Value& undefined);

// ---- filters (filters.cpp) ----
Value apply_filter(Renderer& r, std::string_view name, const Value& operand, CallArgs& args);

// ---- tests, methods and globals (methods.cpp) ----
bool apply_test(Renderer& r, std::string_view name, const Value& operand, CallArgs& args);
bool has_test(std::string_view name);
// A bound method of a str or dict (e.g. "startswith", "items"); undefined if none.
Value string_method(const Value& self, std::string_view name);
Value dict_method(const Value& self, std::string_view name);
// range, namespace, dict, raise_exception, strftime_now; undefined if none.
Value global_function(std::string_view name);

// ---- string helpers shared by methods and filters (methods.cpp) ----
// str.strip(chars) family; chars undefined/none strips Unicode whitespace.
std::string strip_chars(const std::string& s, const Value& chars, bool left, bool right);
// 0 lower, 1 upper, 2 title, 3 capitalize (ASCII letters only).
std::string change_case(const std::string& s, int mode);
Array split_string(Renderer& r, const std::string& s, const Value& sep, int64_t max_split);
std::string replace_all(Renderer& r, const std::string& s, const std::string& from, const std::string& to, int64_t count);

// ---- argument helpers ----
// Argument `index` given positionally or as keyword `name`; undefined if absent.
const Value& arg(const CallArgs& args, size_t index, std::string_view name);
// Rejects more positionals than names.size() and unknown keywords.
void check_args(const CallArgs& args, std::string_view function, std::initializer_list<std::string_view> names);
int64_t int_arg(const Value& value, std::string_view function, std::string_view name);
const std::string& string_arg(const Value& value, std::string_view function, std::string_view name);

}  // namespace apr::chat
