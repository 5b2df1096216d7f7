// Jinja2 filters (`value | name(args)`), with transformers' tojson.
#include <algorithm>
#include <cmath>

#include "chat/builtins.hpp"
#include "chat/json_value.hpp"

namespace apr::chat {

namespace {

std::string text_of(Renderer& r, const Value& v) { return v.is_string() ? v.as_string() : to_str(v, r.limits().max_output_bytes); }

Value tojson(Renderer& r, const Value& v, CallArgs& args) {
    // transformers: tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)
    check_args(args, "tojson", {"ensure_ascii", "indent", "separators", "sort_keys"});
    JsonStyle style;
    style.ensure_ascii = arg(args, 0, "ensure_ascii").truthy();
    const Value& indent = arg(args, 1, "indent");
    if (!indent.is_undefined() && !indent.is_none()) {
        if (indent.is_string()) template_error("tojson(): string indents are not supported");
        const int64_t n = int_arg(indent, "tojson", "indent");
        style.indent = static_cast<int>(std::clamp<int64_t>(n, -1, 64));
    }
    style.item_separator = style.indent ? "," : ", ";
    style.key_separator = ": ";
    const Value& separators = arg(args, 2, "separators");
    if (!separators.is_undefined() && !separators.is_none()) {
        if (!separators.is_array() || separators.as_array().size() != 2)
            template_error("tojson(): separators must be a pair of strings");
        style.item_separator = string_arg(separators.as_array()[0], "tojson", "separators");
        style.key_separator = string_arg(separators.as_array()[1], "tojson", "separators");
    }
    style.sort_keys = arg(args, 3, "sort_keys").truthy();
    std::string out;
    try {
        append_json(out, v, style, r.limits().max_output_bytes);
    } catch (const Error& e) {
        throw TemplateError(e.code(), e.what());
    }
    r.charge_bytes(out.size());
    return Value::string(std::move(out));
}

// Attribute lookup for selectattr/map/sort: "a.b" walks nested dicts; "0" indexes.
Value attribute_path(const Value& item, const std::string& path) {
    Value current = item;
    size_t start = 0;
    while (start <= path.size()) {
        size_t dot = path.find('.', start);
        if (dot == std::string::npos) dot = path.size();
        const std::string part = path.substr(start, dot - start);
        const bool numeric = !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit) && part.size() < 10;
        if (current.is_undefined()) return current;
        current = numeric ? get_item(current, Value::integer(std::stoll(part))) : get_item(current, Value::string(part));
        start = dot + 1;
    }
    return current;
}

// select/reject/selectattr/rejectattr: args are [attr,] test name, test args...
Value select_items(Renderer& r, const Value& seq, CallArgs& args, bool by_attribute, bool keep_matching) {
    size_t next = 0;
    std::string attribute;
    if (by_attribute) {
        if (args.positional.empty()) template_error("selectattr()/rejectattr() need an attribute name");
        attribute = string_arg(args.positional[next++], "selectattr", "attribute");
    }
    std::string test;
    if (next < args.positional.size()) test = string_arg(args.positional[next++], "select", "test");
    CallArgs test_args;
    test_args.positional.assign(args.positional.begin() + static_cast<long>(next), args.positional.end());
    if (!test.empty() && !has_test(test)) template_error("unknown test '{}'", test);
    Array out;
    for (const Value& item : iterate(seq)) {
        const Value subject = by_attribute ? attribute_path(item, attribute) : item;
        const bool match = test.empty() ? subject.truthy() : apply_test(r, test, subject, test_args);
        if (match == keep_matching) out.push_back(item);
    }
    return Value::array(std::move(out));
}

Value sorted(Renderer& r, const Value& seq, CallArgs& args, bool unique_only) {
    check_args(args, unique_only ? "unique" : "sort", {"reverse", "case_sensitive", "attribute"});
    const bool reverse = unique_only ? false : arg(args, 0, "reverse").truthy();
    const bool case_sensitive = arg(args, unique_only ? 0 : 1, "case_sensitive").truthy();
    const Value& attribute = arg(args, unique_only ? 1 : 2, "attribute");
    Array items = iterate(seq);
    auto key = [&](const Value& item) {
        Value k = attribute.is_undefined() ? item : attribute_path(item, text_of(r, attribute));
        if (!case_sensitive && k.is_string()) return Value::string(change_case(k.as_string(), 0));
        return k;
    };
    if (unique_only) {
        Array out;
        std::vector<Value> seen;
        for (const Value& item : items) {
            const Value k = key(item);
            r.charge(seen.size());
            if (std::none_of(seen.begin(), seen.end(), [&](const Value& s) { return s.equals(k); })) {
                seen.push_back(k);
                out.push_back(item);
            }
        }
        return Value::array(std::move(out));
    }
    r.charge(items.size() * static_cast<uint64_t>(std::log2(static_cast<double>(items.size()) + 1) + 1));
    std::stable_sort(items.begin(), items.end(), [&](const Value& a, const Value& b) {
        return reverse ? less_than(key(b), key(a)) : less_than(key(a), key(b));
    });
    return Value::array(std::move(items));
}

std::string indent_text(Renderer& r, const std::string& s, CallArgs& args) {
    check_args(args, "indent", {"width", "first", "blank"});
    const Value& width_v = arg(args, 0, "width");
    const std::string pad = width_v.is_string() ? width_v.as_string()
                            : std::string(static_cast<size_t>(std::clamp<int64_t>(
                                              width_v.is_undefined() ? 4 : int_arg(width_v, "indent", "width"), 0, 1024)),
                                          ' ');
    const bool first = arg(args, 1, "first").truthy();
    const bool blank = arg(args, 2, "blank").truthy();
    std::string out;
    size_t start = 0;
    bool is_first = true;
    while (true) {
        const size_t end = s.find('\n', start);
        const std::string line = s.substr(start, end == std::string::npos ? std::string::npos : end - start);
        if ((!is_first || first) && (blank || !line.empty())) out += pad;
        out += line;
        r.check_size(out.size());
        if (end == std::string::npos) break;
        out += '\n';
        start = end + 1;
        is_first = false;
    }
    return out;
}

}  // namespace

Value apply_filter(Renderer& r, std::string_view name, const Value& v, CallArgs& args) {
    // Every filter walks its operand at least once.
    if (v.is_string()) r.charge_bytes(v.as_string().size());
    else if (v.is_array()) r.charge(v.as_array().size());
    else if (v.is_object()) r.charge(v.as_object().size());
    if (name == "tojson") return tojson(r, v, args);
    if (name == "safe" || name == "string") {
        check_args(args, name, {});
        return v.is_string() ? v : Value::string(to_str(v, r.limits().max_output_bytes));
    }
    if (name == "trim") {
        check_args(args, "trim", {"chars"});
        return Value::string(strip_chars(text_of(r, v), arg(args, 0, "chars"), true, true));
    }
    if (name == "length" || name == "count") {
        check_args(args, name, {});
        if (v.is_string()) return Value::integer(static_cast<int64_t>(utf8_length(v.as_string())));
        if (v.is_array()) return Value::integer(static_cast<int64_t>(v.as_array().size()));
        if (v.is_object()) return Value::integer(static_cast<int64_t>(v.as_object().size()));
        if (v.is_undefined()) return Value::integer(0);
        template_error("object of type '{}' has no len()", v.type_name());
    }
    if (name == "upper" || name == "lower" || name == "title" || name == "capitalize") {
        check_args(args, name, {});
        const int mode = name == "lower" ? 0 : name == "upper" ? 1 : name == "title" ? 2 : 3;
        return Value::string(change_case(text_of(r, v), mode));
    }
    if (name == "default" || name == "d") {
        check_args(args, name, {"default_value", "boolean"});
        const bool boolean = arg(args, 1, "boolean").truthy();
        if (v.is_undefined() || (boolean && !v.truthy())) {
            const Value& fallback = arg(args, 0, "default_value");
            return fallback.is_undefined() ? Value::string("") : fallback;
        }
        return v;
    }
    if (name == "first" || name == "last") {
        check_args(args, name, {});
        if (v.is_undefined()) undefined_error(v);
        const Array items = iterate(v);
        if (items.empty()) return Value::undefined(std::string(name));
        return name == "first" ? items.front() : items.back();
    }
    if (name == "join") {
        check_args(args, "join", {"d", "attribute"});
        const Value& sep = arg(args, 0, "d");
        const std::string separator = sep.is_undefined() ? "" : text_of(r, sep);
        const Value& attribute = arg(args, 1, "attribute");
        std::string out;
        bool first = true;
        for (const Value& item : iterate(v)) {
            if (!first) out += separator;
            first = false;
            out += text_of(r, attribute.is_undefined() ? item : attribute_path(item, text_of(r, attribute)));
            r.check_size(out.size());
        }
        return Value::string(std::move(out));
    }
    if (name == "replace") {
        check_args(args, "replace", {"old", "new", "count"});
        const Value& count = arg(args, 2, "count");
        return Value::string(replace_all(r, text_of(r, v), text_of(r, arg(args, 0, "old")), text_of(r, arg(args, 1, "new")),
                                         count.is_undefined() || count.is_none() ? -1 : int_arg(count, "replace", "count")));
    }
    if (name == "list") {
        check_args(args, "list", {});
        return Value::array(iterate(v));
    }
    if (name == "reverse") {
        check_args(args, "reverse", {});
        if (v.is_string()) {
            std::u32string chars = utf8_to_u32(v.as_string());
            std::reverse(chars.begin(), chars.end());
            return Value::string(u32_to_utf8(chars));
        }
        Array items = iterate(v);
        std::reverse(items.begin(), items.end());
        return Value::array(std::move(items));
    }
    if (name == "items") {
        check_args(args, "items", {});
        if (v.is_undefined()) return Value::array({});
        if (!v.is_object()) template_error("items filter needs a dict, not {}", v.type_name());
        Array out;
        for (const auto& [key, value] : v.as_object().items()) out.push_back(Value::array({Value::string(key), value}));
        return Value::array(std::move(out));
    }
    if (name == "dictsort") {
        check_args(args, "dictsort", {"case_sensitive", "by", "reverse"});
        if (!v.is_object()) template_error("dictsort needs a dict, not {}", v.type_name());
        const bool case_sensitive = arg(args, 0, "case_sensitive").truthy();
        const bool by_value = arg(args, 1, "by").is_string() && arg(args, 1, "by").as_string() == "value";
        const bool reverse = arg(args, 2, "reverse").truthy();
        Array out;
        for (const auto& [key, value] : v.as_object().items()) out.push_back(Value::array({Value::string(key), value}));
        auto key_of = [&](const Value& pair) {
            Value k = pair.as_array()[by_value ? 1 : 0];
            if (!case_sensitive && k.is_string()) return Value::string(change_case(k.as_string(), 0));
            return k;
        };
        std::stable_sort(out.begin(), out.end(), [&](const Value& a, const Value& b) {
            return reverse ? less_than(key_of(b), key_of(a)) : less_than(key_of(a), key_of(b));
        });
        return Value::array(std::move(out));
    }
    if (name == "selectattr" || name == "rejectattr") return select_items(r, v, args, true, name == "selectattr");
    if (name == "select" || name == "reject") return select_items(r, v, args, false, name == "select");
    if (name == "map") {
        Array out;
        const Value& attribute = arg(args, 99, "attribute");
        if (!attribute.is_undefined()) {
            const Value& fallback = arg(args, 99, "default");
            for (const Value& item : iterate(v)) {
                Value x = attribute_path(item, text_of(r, attribute));
                out.push_back(x.is_undefined() && !fallback.is_undefined() ? fallback : x);
            }
            return Value::array(std::move(out));
        }
        if (args.positional.empty()) template_error("map() needs a filter name or attribute=");
        const std::string filter = string_arg(args.positional[0], "map", "filter");
        CallArgs rest;
        rest.positional.assign(args.positional.begin() + 1, args.positional.end());
        rest.keyword = args.keyword;
        for (const Value& item : iterate(v)) {
            r.count_step();
            CallArgs copy = rest;
            out.push_back(apply_filter(r, filter, item, copy));
        }
        return Value::array(std::move(out));
    }
    if (name == "sort") return sorted(r, v, args, false);
    if (name == "unique") return sorted(r, v, args, true);
    if (name == "min" || name == "max") {
        check_args(args, name, {"case_sensitive", "attribute"});
        const Array items = iterate(v);
        if (items.empty()) return Value::undefined(std::string(name));
        const Value* best = &items[0];
        for (const Value& item : items)
            if (name == "min" ? less_than(item, *best) : less_than(*best, item)) best = &item;
        return *best;
    }
    if (name == "sum") {
        check_args(args, "sum", {"attribute", "start"});
        const Value& attribute = arg(args, 0, "attribute");
        const Value& start = arg(args, 1, "start");
        Value total = start.is_undefined() ? Value::integer(0) : start;
        for (const Value& item : iterate(v))
            total = binary_op(r, "+", total, attribute.is_undefined() ? item : attribute_path(item, text_of(r, attribute)));
        return total;
    }
    if (name == "abs") {
        check_args(args, "abs", {});
        if (v.is_int()) {
            if (v.as_int() == INT64_MIN) template_error("integer overflow in abs()");
            return Value::integer(v.as_int() < 0 ? -v.as_int() : v.as_int());
        }
        if (v.is_float()) return Value::floating(std::fabs(v.as_double()));
        template_error("bad operand type for abs(): '{}'", v.type_name());
    }
    if (name == "int") {
        check_args(args, "int", {"default", "base"});
        const Value& fallback = arg(args, 0, "default");
        const Value dflt = fallback.is_undefined() ? Value::integer(0) : fallback;
        if (v.is_int()) return v;
        if (v.is_bool()) return Value::integer(v.as_bool() ? 1 : 0);
        if (v.is_float()) {
            const double d = v.as_double();
            if (!std::isfinite(d) || std::fabs(d) >= 9.2e18) return dflt;
            return Value::integer(static_cast<int64_t>(d));
        }
        if (v.is_string()) {
            const std::string s = strip_chars(v.as_string(), Value(), true, true);
            char* end = nullptr;
            errno = 0;
            const long long parsed = std::strtoll(s.c_str(), &end, 10);
            if (!s.empty() && end == s.c_str() + s.size() && errno == 0) return Value::integer(parsed);
            const double d = std::strtod(s.c_str(), &end);
            if (!s.empty() && end == s.c_str() + s.size() && std::isfinite(d) && std::fabs(d) < 9.2e18)
                return Value::integer(static_cast<int64_t>(d));
        }
        return dflt;
    }
    if (name == "float") {
        check_args(args, "float", {"default"});
        const Value& fallback = arg(args, 0, "default");
        if (v.is_number() || v.is_bool()) return Value::floating(v.is_bool() ? v.as_bool() : v.as_double());
        if (v.is_string()) {
            const std::string s = strip_chars(v.as_string(), Value(), true, true);
            char* end = nullptr;
            const double d = std::strtod(s.c_str(), &end);
            if (!s.empty() && end == s.c_str() + s.size()) return Value::floating(d);
        }
        return fallback.is_undefined() ? Value::floating(0.0) : fallback;
    }
    if (name == "round") {
        check_args(args, "round", {"precision", "method"});
        const Value& precision_v = arg(args, 0, "precision");
        const int64_t precision = precision_v.is_undefined() ? 0 : std::clamp<int64_t>(int_arg(precision_v, "round", "precision"), -20, 20);
        const Value& method_v = arg(args, 1, "method");
        const std::string method = method_v.is_undefined() ? "common" : string_arg(method_v, "round", "method");
        if (!v.is_number()) template_error("round() needs a number, not {}", v.type_name());
        const double scale = std::pow(10.0, static_cast<double>(precision));
        const double x = v.as_double() * scale;
        // "common" is Python's round(): halves go to the even neighbour.
        const double rounded = method == "floor" ? std::floor(x) : method == "ceil" ? std::ceil(x) : std::nearbyint(x);
        return Value::floating(rounded / scale);
    }
    if (name == "indent") return Value::string(indent_text(r, text_of(r, v), args));
    if (name == "escape" || name == "e" || name == "forceescape") {
        check_args(args, name, {});
        std::string out;
        for (char c : text_of(r, v)) {
            switch (c) {
                case '&': out += "&amp;"; break;
                case '<': out += "&lt;"; break;
                case '>': out += "&gt;"; break;
                case '"': out += "&#34;"; break;
                case '\'': out += "&#39;"; break;
                default: out += c;
            }
        }
        r.check_size(out.size());
        return Value::string(std::move(out));
    }
    if (name == "attr") {
        check_args(args, "attr", {"name"});
        return get_attribute(v, string_arg(arg(args, 0, "name"), "attr", "name"));
    }
    throw TemplateError(ErrorCode::bad_format, fmt::format("unknown filter '{}'", name));
}

}  // namespace apr::chat
