// Tests (`is ...`), str and dict methods, global functions and the argument
// helpers the builtins share.
#include <cctype>
#include <chrono>
#include <cmath>
#include <ctime>

#include "chat/builtins.hpp"

namespace apr::chat {

const Value& arg(const CallArgs& args, size_t index, std::string_view name) {
    static const Value kUndefined;
    if (index < args.positional.size()) return args.positional[index];
    for (const auto& [key, value] : args.keyword)
        if (key == name) return value;
    return kUndefined;
}

void check_args(const CallArgs& args, std::string_view function, std::initializer_list<std::string_view> names) {
    if (args.positional.size() > names.size())
        template_error("{}() takes at most {} arguments, {} given", function, names.size(), args.positional.size());
    for (const auto& [key, value] : args.keyword) {
        bool known = false;
        size_t index = 0;
        for (auto name : names) {
            if (name == key) {
                known = true;
                if (index < args.positional.size())
                    template_error("{}() got argument '{}' both by position and by name", function, key);
            }
            ++index;
        }
        if (!known) template_error("{}() got an unexpected keyword argument '{}'", function, key);
    }
}

int64_t int_arg(const Value& value, std::string_view function, std::string_view name) {
    if (value.is_int()) return value.as_int();
    if (value.is_bool()) return value.as_bool() ? 1 : 0;
    template_error("{}(): argument '{}' must be an integer, not {}", function, name, value.type_name());
}

const std::string& string_arg(const Value& value, std::string_view function, std::string_view name) {
    if (value.is_string()) return value.as_string();
    if (value.is_undefined()) undefined_error(value);
    template_error("{}(): argument '{}' must be a string, not {}", function, name, value.type_name());
}

// ---- tests -------------------------------------------------------------

namespace {

bool all_cased(const std::string& s, bool upper) {
    bool any = false;
    for (unsigned char c : s) {
        if (std::isalpha(c)) {
            any = true;
            if (upper ? std::islower(c) : std::isupper(c)) return false;
        }
    }
    return any;
}

}  // namespace

bool has_test(std::string_view name) {
    static constexpr std::string_view kTests[] = {
        "defined", "undefined", "none", "boolean", "false", "true", "integer", "float", "number", "string",
        "mapping", "iterable", "sequence", "callable", "sameas", "eq", "equalto", "==", "ne", "!=", "lt", "<",
        "lessthan", "le", "<=", "gt", ">", "greaterthan", "ge", ">=", "in", "odd", "even", "divisibleby", "lower",
        "upper"};
    for (auto t : kTests)
        if (t == name) return true;
    return false;
}

bool apply_test(Renderer&, std::string_view name, const Value& v, CallArgs& args) {
    const Value& other = arg(args, 0, "value");
    if (name == "defined") return !v.is_undefined();
    if (name == "undefined") return v.is_undefined();
    if (name == "none") return v.is_none();
    if (name == "boolean") return v.is_bool();
    if (name == "false") return v.is_bool() && !v.as_bool();
    if (name == "true") return v.is_bool() && v.as_bool();
    if (name == "integer") return v.is_int();
    if (name == "float") return v.is_float();
    if (name == "number") return v.is_number() || v.is_bool();
    if (name == "string") return v.is_string();
    if (name == "mapping") return v.is_object();
    if (name == "iterable") return v.is_array() || v.is_object() || v.is_string() || v.is_undefined();
    if (name == "sequence") return v.is_array() || v.is_object() || v.is_string();
    if (name == "callable") return v.is_function();
    if (name == "sameas") return v.kind() == other.kind() && (v.is_none() || v.is_undefined() || v.equals(other));
    if (name == "eq" || name == "equalto" || name == "==") return v.equals(other);
    if (name == "ne" || name == "!=") return !v.equals(other);
    if (name == "lt" || name == "<" || name == "lessthan") return less_than(v, other);
    if (name == "le" || name == "<=") return !less_than(other, v);
    if (name == "gt" || name == ">" || name == "greaterthan") return less_than(other, v);
    if (name == "ge" || name == ">=") return !less_than(v, other);
    if (name == "in") return contains(other, v);
    if (name == "odd" || name == "even" || name == "divisibleby") {
        const int64_t x = int_arg(v, name, "value");
        if (name == "divisibleby") {
            const int64_t d = int_arg(other, name, "num");
            if (d == 0) template_error("divisibleby 0");
            return d == -1 || x % d == 0;
        }
        return (x % 2 != 0) == (name == "odd");
    }
    if (name == "lower" || name == "upper") return v.is_string() && all_cased(v.as_string(), name == "upper");
    template_error("unknown test '{}'", name);
}

// ---- string methods ------------------------------------------------------

namespace {

bool is_py_space(char32_t c) {
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f) || c == 0x85 || c == 0xa0 ||
           c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
           c == 0x205f || c == 0x3000;
}

}  // namespace

std::string strip_chars(const std::string& s, const Value& chars, bool left, bool right) {
    const std::u32string text = utf8_to_u32(s);
    std::u32string set;
    const bool whitespace = chars.is_undefined() || chars.is_none();
    if (!whitespace) set = utf8_to_u32(string_arg(chars, "strip", "chars"));
    auto strip_it = [&](char32_t c) { return whitespace ? is_py_space(c) : set.find(c) != std::u32string::npos; };
    size_t begin = 0, end = text.size();
    if (left)
        while (begin < end && strip_it(text[begin])) ++begin;
    if (right)
        while (end > begin && strip_it(text[end - 1])) --end;
    return u32_to_utf8(std::u32string_view(text).substr(begin, end - begin));
}

std::string change_case(const std::string& s, int mode) {  // 0 lower, 1 upper, 2 title, 3 capitalize
    std::string out = s;
    bool word_start = true;
    for (size_t i = 0; i < out.size(); ++i) {
        const auto c = static_cast<unsigned char>(out[i]);
        bool upper = mode == 1 || ((mode == 2 || mode == 3) && word_start);
        if (mode == 3 && i > 0) upper = false;
        out[i] = static_cast<char>(upper ? std::toupper(c) : std::tolower(c));
        if (mode == 2) word_start = !std::isalpha(c);
    }
    return out;
}

Array split_string(Renderer& r, const std::string& s, const Value& sep, int64_t max_split) {
    Array parts;
    if (sep.is_undefined() || sep.is_none()) {  // split on runs of whitespace
        const std::u32string text = utf8_to_u32(s);
        size_t i = 0;
        while (i < text.size()) {
            while (i < text.size() && is_py_space(text[i])) ++i;
            if (i >= text.size()) break;
            size_t j = i;
            if (max_split >= 0 && static_cast<int64_t>(parts.size()) >= max_split) {
                size_t end = text.size();
                while (end > i && is_py_space(text[end - 1])) --end;
                parts.push_back(Value::string(u32_to_utf8(text.substr(i, end - i))));
                break;
            }
            while (j < text.size() && !is_py_space(text[j])) ++j;
            parts.push_back(Value::string(u32_to_utf8(text.substr(i, j - i))));
            r.check_items(parts.size());
            i = j;
        }
        return parts;
    }
    const std::string& delim = string_arg(sep, "split", "sep");
    if (delim.empty()) template_error("split(): empty separator");
    size_t start = 0;
    while (true) {
        const size_t at = s.find(delim, start);
        if (at == std::string::npos || (max_split >= 0 && static_cast<int64_t>(parts.size()) >= max_split)) {
            parts.push_back(Value::string(s.substr(start)));
            return parts;
        }
        parts.push_back(Value::string(s.substr(start, at - start)));
        r.check_items(parts.size());
        start = at + delim.size();
    }
}

std::string replace_all(Renderer& r, const std::string& s, const std::string& from, const std::string& to,
                        int64_t count) {
    std::string out;
    if (from.empty()) {  // Python inserts `to` between every character
        const std::u32string chars = utf8_to_u32(s);
        int64_t done = 0;
        for (size_t i = 0; i <= chars.size(); ++i) {
            if (count < 0 || done < count) {
                out += to;
                ++done;
            }
            if (i < chars.size()) out += u32_to_utf8(std::u32string(1, chars[i]));
            r.check_size(out.size());
        }
        return out;
    }
    size_t start = 0;
    int64_t done = 0;
    while (count < 0 || done < count) {
        const size_t at = s.find(from, start);
        if (at == std::string::npos) break;
        out.append(s, start, at - start);
        out += to;
        r.check_size(out.size());
        start = at + from.size();
        ++done;
    }
    out.append(s, start);
    r.check_size(out.size());
    return out;
}

namespace {

bool affix_matches(const std::string& s, const Value& affix, bool prefix) {
    auto one = [&](const Value& a) {
        const std::string& x = string_arg(a, prefix ? "startswith" : "endswith", "prefix");
        if (x.size() > s.size()) return false;
        return prefix ? s.compare(0, x.size(), x) == 0 : s.compare(s.size() - x.size(), x.size(), x) == 0;
    };
    if (affix.is_array()) {
        for (const Value& a : affix.as_array())
            if (one(a)) return true;
        return false;
    }
    return one(affix);
}

Value method(const Value& self, std::string name,
             std::function<Value(Renderer&, const std::string&, CallArgs&)> body) {
    return Value::function("str." + name, [self, body = std::move(body)](Renderer& r, CallArgs& args) {
        const std::string& text = self.as_string();
        r.charge_bytes(text.size());
        return body(r, text, args);
    });
}

}  // namespace

Value string_method(const Value& self, std::string_view name) {
    const std::string n(name);
    if (n == "startswith" || n == "endswith") {
        return method(self, n, [n](Renderer&, const std::string& s, CallArgs& args) {
            check_args(args, n, {"prefix"});
            return Value::boolean(affix_matches(s, arg(args, 0, "prefix"), n == "startswith"));
        });
    }
    if (n == "strip" || n == "lstrip" || n == "rstrip") {
        return method(self, n, [n](Renderer&, const std::string& s, CallArgs& args) {
            check_args(args, n, {"chars"});
            return Value::string(strip_chars(s, arg(args, 0, "chars"), n != "rstrip", n != "lstrip"));
        });
    }
    if (n == "lower" || n == "upper" || n == "title" || n == "capitalize") {
        const int mode = n == "lower" ? 0 : n == "upper" ? 1 : n == "title" ? 2 : 3;
        return method(self, n, [n, mode](Renderer&, const std::string& s, CallArgs& args) {
            check_args(args, n, {});
            return Value::string(change_case(s, mode));
        });
    }
    if (n == "split") {
        return method(self, n, [](Renderer& r, const std::string& s, CallArgs& args) {
            check_args(args, "split", {"sep", "maxsplit"});
            const Value& max = arg(args, 1, "maxsplit");
            return Value::array(split_string(r, s, arg(args, 0, "sep"), max.is_undefined() ? -1 : int_arg(max, "split", "maxsplit")));
        });
    }
    if (n == "splitlines") {
        return method(self, n, [](Renderer& r, const std::string& s, CallArgs& args) {
            check_args(args, "splitlines", {});
            Array lines;
            size_t start = 0;
            while (start < s.size()) {
                size_t end = s.find_first_of("\r\n", start);
                if (end == std::string::npos) end = s.size();
                lines.push_back(Value::string(s.substr(start, end - start)));
                r.check_items(lines.size());
                start = end + ((end + 1 < s.size() && s[end] == '\r' && s[end + 1] == '\n') ? 2 : 1);
            }
            return Value::array(std::move(lines));
        });
    }
    if (n == "replace") {
        return method(self, n, [](Renderer& r, const std::string& s, CallArgs& args) {
            check_args(args, "replace", {"old", "new", "count"});
            const Value& count = arg(args, 2, "count");
            return Value::string(replace_all(r, s, string_arg(arg(args, 0, "old"), "replace", "old"),
                                             string_arg(arg(args, 1, "new"), "replace", "new"),
                                             count.is_undefined() ? -1 : int_arg(count, "replace", "count")));
        });
    }
    if (n == "find" || n == "rfind" || n == "count") {
        return method(self, n, [n](Renderer&, const std::string& s, CallArgs& args) {
            check_args(args, n, {"sub"});
            const std::string& sub = string_arg(arg(args, 0, "sub"), n, "sub");
            if (n == "count") {
                if (sub.empty()) return Value::integer(static_cast<int64_t>(utf8_length(s)) + 1);
                int64_t count = 0;
                for (size_t at = s.find(sub); at != std::string::npos; at = s.find(sub, at + sub.size())) ++count;
                return Value::integer(count);
            }
            const size_t at = n == "find" ? s.find(sub) : s.rfind(sub);
            if (at == std::string::npos) return Value::integer(-1);
            return Value::integer(static_cast<int64_t>(utf8_length(std::string_view(s).substr(0, at))));
        });
    }
    if (n == "join") {
        return method(self, n, [](Renderer& r, const std::string& s, CallArgs& args) {
            check_args(args, "join", {"iterable"});
            std::string out;
            bool first = true;
            const Array items = iterate(arg(args, 0, "iterable"));
            r.charge(items.size());
            for (const Value& item : items) {
                if (!first) out += s;
                first = false;
                out += string_arg(item, "join", "item");
                r.check_size(out.size());
            }
            return Value::string(std::move(out));
        });
    }
    if (n == "isdigit" || n == "isalpha" || n == "isalnum" || n == "isspace" || n == "islower" || n == "isupper") {
        return method(self, n, [n](Renderer&, const std::string& s, CallArgs& args) {
            check_args(args, n, {});
            if (n == "islower" || n == "isupper") return Value::boolean(all_cased(s, n == "isupper"));
            if (s.empty()) return Value::boolean(false);
            for (unsigned char c : s) {
                const bool ok = n == "isdigit" ? std::isdigit(c) : n == "isalpha" ? std::isalpha(c)
                                : n == "isalnum" ? std::isalnum(c) : std::isspace(c);
                if (!ok) return Value::boolean(false);
            }
            return Value::boolean(true);
        });
    }
    return Value::undefined(n);
}

// ---- dict methods ----------------------------------------------------------

Value dict_method(const Value& self, std::string_view name) {
    const std::string n(name);
    if (n != "items" && n != "keys" && n != "values" && n != "get") return Value::undefined(n);
    return Value::function("dict." + n, [self, n](Renderer& r, CallArgs& args) {
        r.charge(self.as_object().size());
        if (n == "get") {
            check_args(args, "get", {"key", "default"});
            const Value& key = arg(args, 0, "key");
            if (key.is_string())
                if (const Value* v = self.as_object().find(key.as_string())) return *v;
            const Value& fallback = arg(args, 1, "default");
            return fallback.is_undefined() ? Value::none() : fallback;
        }
        check_args(args, n, {});
        Array out;
        for (const auto& [key, value] : self.as_object().items()) {
            if (n == "items") out.push_back(Value::array({Value::string(key), value}));
            else if (n == "keys") out.push_back(Value::string(key));
            else out.push_back(value);
        }
        return Value::array(std::move(out));
    }, self.holds_namespace());
}

// ---- global functions ------------------------------------------------------

Value global_function(std::string_view name) {
    if (name == "range") {
        return Value::function("range", [](Renderer& r, CallArgs& args) {
            check_args(args, "range", {"start", "stop", "step"});
            int64_t start = 0, stop = 0, step = 1;
            if (args.positional.size() == 1) {
                stop = int_arg(args.positional[0], "range", "stop");
            } else if (args.positional.size() >= 2) {
                start = int_arg(args.positional[0], "range", "start");
                stop = int_arg(args.positional[1], "range", "stop");
                if (args.positional.size() == 3) step = int_arg(args.positional[2], "range", "step");
            } else {
                template_error("range() needs at least one argument");
            }
            if (step == 0) template_error("range() step must not be zero");
            const double count = std::ceil((static_cast<double>(stop) - static_cast<double>(start)) / static_cast<double>(step));
            if (count > static_cast<double>(r.limits().max_list_items)) r.check_items(r.limits().max_list_items + 1);
            if (count > 0) r.charge(static_cast<uint64_t>(count));
            Array items;
            for (int64_t i = start; step > 0 ? i < stop : i > stop;) {
                items.push_back(Value::integer(i));
                if (__builtin_add_overflow(i, step, &i)) break;
            }
            return Value::array(std::move(items));
        });
    }
    if (name == "namespace" || name == "dict") {
        const bool is_namespace = name == "namespace";
        return Value::function(std::string(name), [is_namespace](Renderer& r, CallArgs& args) {
            Object object;
            for (const Value& initial : args.positional) {
                if (initial.is_object()) r.charge(initial.as_object().size());
                if (is_namespace && initial.holds_namespace())
                    template_error("a namespace attribute cannot hold a namespace");
                if (!initial.is_object())
                    template_error("{}() takes keyword arguments or a dict, not {}", is_namespace ? "namespace" : "dict",
                                   initial.type_name());
                for (const auto& [key, value] : initial.as_object().items()) object.set(key, value);
            }
            for (auto& [key, value] : args.keyword) {
                if (is_namespace && value.holds_namespace()) template_error("a namespace attribute cannot hold a namespace");
                object.set(key, value);
            }
            return Value::object(std::move(object), is_namespace);
        });
    }
    if (name == "raise_exception") {
        return Value::function("raise_exception", [](Renderer& r, CallArgs& args) -> Value {
            const Value& message = arg(args, 0, "message");
            throw TemplateError(ErrorCode::invalid_argument,
                                fmt::format("template raised an exception: {}", to_str(message, r.limits().max_output_bytes)));
        });
    }
    if (name == "strftime_now") {  // transformers provides it (Llama 3.x templates print today's date)
        return Value::function("strftime_now", [](Renderer&, CallArgs& args) {
            check_args(args, "strftime_now", {"format"});
            const std::string& format = string_arg(arg(args, 0, "format"), "strftime_now", "format");
            const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
            std::tm local{};
            localtime_r(&now, &local);
            char buf[256];
            const size_t n = format.size() < 64 ? std::strftime(buf, sizeof buf, format.c_str(), &local) : 0;
            return Value::string(std::string(buf, n));
        });
    }
    return Value::undefined(std::string(name));
}

}  // namespace apr::chat
