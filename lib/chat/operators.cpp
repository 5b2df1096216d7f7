// Operators and element access with Python's semantics.
#include <algorithm>
#include <cmath>

#include "chat/builtins.hpp"

namespace apr::chat {

// An undefined value carries the variable name it was looked up by, or a
// sentence saying what was missing ("'dict object' has no attribute 'x'").
void undefined_error(const Value& undefined) {
    const std::string& hint = undefined.as_string();
    if (hint.empty()) template_error("value is undefined");
    if (hint.find(' ') != std::string::npos) template_error("{}", hint);
    template_error("'{}' is undefined", hint);
}

namespace {

bool is_intlike(const Value& v) { return v.is_int() || v.is_bool(); }
int64_t int_of(const Value& v) { return v.is_bool() ? (v.as_bool() ? 1 : 0) : v.as_int(); }
bool is_numeric(const Value& v) { return v.is_number() || v.is_bool(); }

[[noreturn]] void unsupported(std::string_view op, const Value& a, const Value& b) {
    if (a.is_undefined()) undefined_error(a);
    if (b.is_undefined()) undefined_error(b);
    template_error("unsupported operand types for {}: '{}' and '{}'", op, a.type_name(), b.type_name());
}

Value repeat(Renderer& r, const Value& seq, int64_t times) {
    if (times <= 0) return seq.is_string() ? Value::string("") : Value::array({});
    const uint64_t unit = seq.is_string() ? seq.as_string().size() : seq.as_array().size();
    if (unit != 0 && static_cast<uint64_t>(times) <= UINT64_MAX / unit)
        r.charge(seq.is_string() ? unit * static_cast<uint64_t>(times) / 64 : unit * static_cast<uint64_t>(times));
    if (seq.is_string()) {
        const std::string& s = seq.as_string();
        if (!s.empty() && static_cast<uint64_t>(times) > r.limits().max_output_bytes / s.size())
            r.check_size(r.limits().max_output_bytes + 1);
        std::string out;
        out.reserve(s.size() * static_cast<size_t>(times));
        for (int64_t i = 0; i < times; ++i) out += s;
        return Value::string(std::move(out));
    }
    const Array& items = seq.as_array();
    if (!items.empty() && static_cast<uint64_t>(times) > r.limits().max_list_items / items.size())
        r.check_items(r.limits().max_list_items + 1);
    Array out;
    for (int64_t i = 0; i < times; ++i) out.insert(out.end(), items.begin(), items.end());
    return Value::array(std::move(out));
}

double floor_mod(double a, double b) {
    double m = std::fmod(a, b);
    if (m != 0 && ((m < 0) != (b < 0))) m += b;
    return m;
}

}  // namespace

Value binary_op(Renderer& r, std::string_view op, const Value& a, const Value& b) {
    if (op == "~") {
        std::string text = to_str(a, r.limits().max_output_bytes);
        text += to_str(b, r.limits().max_output_bytes);
        r.check_size(text.size());
        r.charge_bytes(text.size());
        return Value::string(std::move(text));
    }
    if (op == "+") {
        if (a.is_string() && b.is_string()) {
            r.check_size(a.as_string().size() + b.as_string().size());
            r.charge_bytes(a.as_string().size() + b.as_string().size());
            return Value::string(a.as_string() + b.as_string());
        }
        if (a.is_array() && b.is_array()) {
            r.check_items(a.as_array().size() + b.as_array().size());
            r.charge(a.as_array().size() + b.as_array().size());
            Array items = a.as_array();
            items.insert(items.end(), b.as_array().begin(), b.as_array().end());
            return Value::array(std::move(items));
        }
    }
    if (op == "*") {
        if ((a.is_string() || a.is_array()) && is_intlike(b)) return repeat(r, a, int_of(b));
        if (is_intlike(a) && (b.is_string() || b.is_array())) return repeat(r, b, int_of(a));
    }
    if (!is_numeric(a) || !is_numeric(b)) unsupported(op, a, b);
    if (is_intlike(a) && is_intlike(b) && op != "/") {
        const int64_t x = int_of(a), y = int_of(b);
        int64_t result = 0;
        if (op == "+") {
            if (!__builtin_add_overflow(x, y, &result)) return Value::integer(result);
        } else if (op == "-") {
            if (!__builtin_sub_overflow(x, y, &result)) return Value::integer(result);
        } else if (op == "*") {
            if (!__builtin_mul_overflow(x, y, &result)) return Value::integer(result);
        } else if (op == "//" || op == "%") {
            if (y == 0) template_error("integer division or modulo by zero");
            if (x == INT64_MIN && y == -1) template_error("integer overflow in '{}'", op);
            int64_t q = x / y, m = x % y;
            if (m != 0 && ((m < 0) != (y < 0))) {
                --q;
                m += y;
            }
            return Value::integer(op == "//" ? q : m);
        } else if (op == "**") {
            if (y >= 0) {
                int64_t acc = 1;
                bool overflow = false;
                for (int64_t i = 0; i < y && !overflow; ++i) {
                    overflow = __builtin_mul_overflow(acc, x, &acc);
                    if (acc == 0 || acc == 1) break;  // 0**n, 1**n
                    if (x == -1) {
                        acc = (y % 2) ? -1 : 1;
                        break;
                    }
                }
                if (!overflow) return Value::integer(acc);
            } else {
                return Value::floating(std::pow(static_cast<double>(x), static_cast<double>(y)));
            }
        }
        template_error("integer overflow in '{}' (Python would switch to big integers)", op);
    }
    const double x = a.is_bool() ? int_of(a) : a.as_double();
    const double y = b.is_bool() ? int_of(b) : b.as_double();
    if (op == "+") return Value::floating(x + y);
    if (op == "-") return Value::floating(x - y);
    if (op == "*") return Value::floating(x * y);
    if (op == "/") {
        if (y == 0) template_error("division by zero");
        return Value::floating(x / y);
    }
    if (op == "//") {
        if (y == 0) template_error("float floor division by zero");
        return Value::floating(std::floor(x / y));
    }
    if (op == "%") {
        if (y == 0) template_error("float modulo by zero");
        return Value::floating(floor_mod(x, y));
    }
    if (op == "**") return Value::floating(std::pow(x, y));
    unsupported(op, a, b);
}

bool less_than(const Value& a, const Value& b) {
    if (is_numeric(a) && is_numeric(b)) {
        if (is_intlike(a) && is_intlike(b)) return int_of(a) < int_of(b);
        return (a.is_bool() ? int_of(a) : a.as_double()) < (b.is_bool() ? int_of(b) : b.as_double());
    }
    if (a.is_string() && b.is_string()) return a.as_string() < b.as_string();  // UTF-8 bytes sort like code points
    if (a.is_array() && b.is_array()) {
        const Array& x = a.as_array();
        const Array& y = b.as_array();
        for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
            if (x[i].equals(y[i])) continue;
            return less_than(x[i], y[i]);
        }
        return x.size() < y.size();
    }
    unsupported("<", a, b);
}

bool contains(const Value& container, const Value& item) {
    switch (container.kind()) {
        case Value::Kind::string:
            if (!item.is_string()) template_error("'in <string>' requires a string as left operand, not {}", item.type_name());
            return container.as_string().find(item.as_string()) != std::string::npos;
        case Value::Kind::array:
            for (const Value& v : container.as_array())
                if (v.equals(item)) return true;
            return false;
        case Value::Kind::object: return item.is_string() && container.as_object().find(item.as_string()) != nullptr;
        case Value::Kind::undefined: return false;  // Jinja's Undefined iterates as empty
        default: template_error("argument of type '{}' is not iterable", container.type_name());
    }
}

Value get_attribute(const Value& object, std::string_view name) {
    switch (object.kind()) {
        case Value::Kind::undefined: undefined_error(object);
        case Value::Kind::object: {
            if (!object.is_namespace()) {
                Value method = dict_method(object, name);
                if (!method.is_undefined()) return method;
            }
            if (const Value* v = object.as_object().find(name)) return *v;
            return Value::undefined(fmt::format("'{} object' has no attribute '{}'", object.type_name(), name));
        }
        case Value::Kind::string: {
            Value method = string_method(object, name);
            if (!method.is_undefined()) return method;
            break;
        }
        default: break;
    }
    return Value::undefined(fmt::format("'{} object' has no attribute '{}'", object.type_name(), name));
}

namespace {

// Python index normalization: negative counts from the end; false if out of range.
bool normalize_index(int64_t& index, size_t size) {
    if (index < 0) index += static_cast<int64_t>(size);
    return index >= 0 && static_cast<uint64_t>(index) < size;
}

}  // namespace

Value get_item(const Value& object, const Value& key) {
    switch (object.kind()) {
        case Value::Kind::undefined: undefined_error(object);
        case Value::Kind::object:
            if (key.is_string()) {
                if (const Value* v = object.as_object().find(key.as_string())) return *v;
                if (!object.is_namespace()) return dict_method(object, key.as_string());
            }
            return Value::undefined(fmt::format("'{} object' has no attribute '{}'", object.type_name(),
                                                to_str(key, 256)));
        case Value::Kind::array:
            if (is_intlike(key)) {
                int64_t index = int_of(key);
                if (normalize_index(index, object.as_array().size())) return object.as_array()[static_cast<size_t>(index)];
            }
            return Value::undefined(fmt::format("list object has no element {}", to_str(key, 256)));
        case Value::Kind::string:
            if (is_intlike(key)) {
                const std::u32string chars = utf8_to_u32(object.as_string());
                int64_t index = int_of(key);
                if (normalize_index(index, chars.size()))
                    return Value::string(u32_to_utf8(std::u32string_view(chars).substr(static_cast<size_t>(index), 1)));
            }
            return Value::undefined(fmt::format("str object has no element {}", to_str(key, 256)));
        default:
            // Jinja turns failed lookups on other types into Undefined.
            return Value::undefined();
    }
}

namespace {

int64_t slice_bound(const Value& v, std::string_view what) {
    if (is_intlike(v)) return int_of(v);
    template_error("slice {} must be an integer or none, not {}", what, v.type_name());
}

// Python's slice.indices(): the positions a[start:stop:step] visits.
std::vector<size_t> slice_positions(size_t size, const Value& start_v, const Value& stop_v, const Value& step_v) {
    const bool no_start = start_v.is_undefined() || start_v.is_none();
    const bool no_stop = stop_v.is_undefined() || stop_v.is_none();
    const int64_t step = (step_v.is_undefined() || step_v.is_none()) ? 1 : slice_bound(step_v, "step");
    if (step == 0) template_error("slice step cannot be zero");
    const auto n = static_cast<int64_t>(size);
    auto clamp = [&](int64_t v, bool forward) {
        if (v < 0) v += n;
        if (forward) return std::clamp<int64_t>(v, 0, n);
        return std::clamp<int64_t>(v, -1, n - 1);
    };
    const bool forward = step > 0;
    int64_t start = no_start ? (forward ? 0 : n - 1) : clamp(slice_bound(start_v, "start"), forward);
    int64_t stop = no_stop ? (forward ? n : -1) : clamp(slice_bound(stop_v, "stop"), forward);
    std::vector<size_t> positions;
    for (int64_t i = start; forward ? i < stop : i > stop;) {
        positions.push_back(static_cast<size_t>(i));
        if (__builtin_add_overflow(i, step, &i)) break;  // a huge step leaves the range
    }
    return positions;
}

}  // namespace

Value slice_value(const Value& object, const Value& start, const Value& stop, const Value& step) {
    if (object.is_array()) {
        const Array& items = object.as_array();
        Array out;
        for (size_t i : slice_positions(items.size(), start, stop, step)) out.push_back(items[i]);
        return Value::array(std::move(out));
    }
    if (object.is_string()) {
        const std::u32string chars = utf8_to_u32(object.as_string());
        std::u32string out;
        for (size_t i : slice_positions(chars.size(), start, stop, step)) out += chars[i];
        return Value::string(u32_to_utf8(out));
    }
    if (object.is_undefined()) undefined_error(object);
    template_error("'{}' object cannot be sliced", object.type_name());
}

Array iterate(const Value& value) {
    switch (value.kind()) {
        case Value::Kind::array: return value.as_array();
        case Value::Kind::object: {
            Array keys;
            for (const auto& item : value.as_object().items()) keys.push_back(Value::string(item.first));
            return keys;
        }
        case Value::Kind::string: {
            Array chars;
            for (char32_t c : utf8_to_u32(value.as_string())) chars.push_back(Value::string(u32_to_utf8(std::u32string(1, c))));
            return chars;
        }
        case Value::Kind::undefined: return {};
        default: template_error("'{}' object is not iterable", value.type_name());
    }
}

}  // namespace apr::chat
