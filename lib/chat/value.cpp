#include "chat/value.hpp"

#include <fmt/format.h>

#include <charconv>
#include <algorithm>
#include <cmath>

#include "core/fail.hpp"

namespace apr::chat {

// Small dicts (messages, loop objects) are scanned; the index is built only
// once a dict grows past kIndexThreshold keys (hostile JSON can have many).
constexpr size_t kIndexThreshold = 16;

void Object::append_distinct(std::string key, Value value) {
    if (!index_.empty()) index_.emplace(key, items_.size());
    items_.emplace_back(std::move(key), std::move(value));
    if (index_.empty() && items_.size() > kIndexThreshold)
        for (size_t i = 0; i < items_.size(); ++i) index_.emplace(items_[i].first, i);
}

const Value* Object::find(std::string_view key) const {
    if (index_.empty()) {
        for (const auto& item : items_)
            if (item.first == key) return &item.second;
        return nullptr;
    }
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : &items_[it->second].second;
}

void Object::set(std::string key, Value value) {
    if (const Value* existing = find(key)) {
        const_cast<Value&>(*existing) = std::move(value);
        return;
    }
    if (!index_.empty()) index_.emplace(key, items_.size());
    items_.emplace_back(std::move(key), std::move(value));
    if (index_.empty() && items_.size() > kIndexThreshold)
        for (size_t i = 0; i < items_.size(); ++i) index_.emplace(items_[i].first, i);
}

const std::string& Value::empty_string() {
    static const std::string empty;
    return empty;
}

Value Value::undefined(std::string name) {
    Value v;
    if (!name.empty()) v.s_ = std::make_shared<const std::string>(std::move(name));
    return v;
}
Value Value::none() {
    Value v;
    v.kind_ = Kind::none;
    return v;
}
Value Value::boolean(bool b) {
    Value v;
    v.kind_ = Kind::boolean;
    v.b_ = b;
    return v;
}
Value Value::integer(int64_t i) {
    Value v;
    v.kind_ = Kind::integer;
    v.i_ = i;
    return v;
}
Value Value::floating(double d) {
    Value v;
    v.kind_ = Kind::floating;
    v.d_ = d;
    return v;
}
Value Value::string(std::string s) {
    Value v;
    v.kind_ = Kind::string;
    v.s_ = std::make_shared<const std::string>(std::move(s));
    return v;
}
namespace {
int checked_depth(int child_depth) {
    if (child_depth + 1 > Value::kMaxDepth)
        fail(ErrorCode::invalid_argument, "chat template: lists and dicts nest deeper than {} levels",
             Value::kMaxDepth);
    return child_depth + 1;
}
}  // namespace

Value Value::array(Array items) {
    Value v;
    int child_depth = 0;
    for (const Value& item : items) {
        child_depth = std::max(child_depth, item.depth_);
        v.holds_namespace_ = v.holds_namespace_ || item.holds_namespace_;
    }
    v.depth_ = checked_depth(child_depth);
    v.kind_ = Kind::array;
    v.array_ = std::make_shared<const Array>(std::move(items));
    return v;
}
Value Value::object(Object object, bool is_namespace) {
    Value v;
    int child_depth = 0;
    for (const auto& item : object.items()) {
        child_depth = std::max(child_depth, item.second.depth_);
        v.holds_namespace_ = v.holds_namespace_ || item.second.holds_namespace_;
    }
    v.holds_namespace_ = v.holds_namespace_ || is_namespace;
    v.depth_ = checked_depth(child_depth);
    v.kind_ = Kind::object;
    v.namespace_ = is_namespace;
    v.object_ = std::make_shared<Object>(std::move(object));
    return v;
}
Value Value::function(std::string name, Function fn, bool captures_namespace) {
    Value v;
    v.holds_namespace_ = captures_namespace;
    v.kind_ = Kind::function;
    v.s_ = std::make_shared<const std::string>(std::move(name));
    v.function_ = std::make_shared<const Function>(std::move(fn));
    return v;
}

bool Value::truthy() const {
    switch (kind_) {
        case Kind::undefined:
        case Kind::none: return false;
        case Kind::boolean: return b_;
        case Kind::integer: return i_ != 0;
        case Kind::floating: return d_ != 0.0;
        case Kind::string: return !as_string().empty();
        case Kind::array: return !array_->empty();
        case Kind::object: return object_->size() != 0;
        case Kind::function: return true;
    }
    return false;
}

namespace {
bool numeric_like(const Value& v) { return v.is_number() || v.is_bool(); }
double numeric_value(const Value& v) { return v.is_bool() ? (v.as_bool() ? 1.0 : 0.0) : v.as_double(); }
}  // namespace

bool Value::equals(const Value& other) const {
    uint64_t budget = 1'000'000;
    return equals_within(other, budget);
}

bool Value::equals_within(const Value& other, uint64_t& budget) const {
    if (budget == 0)
        fail(ErrorCode::invalid_argument, "chat template: comparing values of more than a million elements");
    --budget;
    if (numeric_like(*this) && numeric_like(other)) {
        if (is_int() && other.is_int()) return i_ == other.i_;
        if (is_bool() && other.is_bool()) return b_ == other.b_;
        return numeric_value(*this) == numeric_value(other);
    }
    if (kind_ != other.kind_) return false;
    switch (kind_) {
        case Kind::undefined:
        case Kind::none: return true;
        case Kind::string: return s_ == other.s_ || as_string() == other.as_string();
        case Kind::array: {
            if (array_ == other.array_) return true;
            const Array& a = *array_;
            const Array& b = *other.array_;
            if (a.size() != b.size()) return false;
            for (size_t i = 0; i < a.size(); ++i)
                if (!a[i].equals_within(b[i], budget)) return false;
            return true;
        }
        case Kind::object: {
            if (object_ == other.object_) return true;
            if (object_->size() != other.object_->size()) return false;
            for (const auto& [key, value] : object_->items()) {
                const Value* theirs = other.object_->find(key);
                if (!theirs || !value.equals_within(*theirs, budget)) return false;
            }
            return true;
        }
        case Kind::function: return function_ == other.function_;
        default: return false;
    }
}

const char* Value::type_name() const {
    switch (kind_) {
        case Kind::undefined: return "undefined";
        case Kind::none: return "NoneType";
        case Kind::boolean: return "bool";
        case Kind::integer: return "int";
        case Kind::floating: return "float";
        case Kind::string: return "str";
        case Kind::array: return "list";
        case Kind::object: return namespace_ ? "Namespace" : "dict";
        case Kind::function: return "function";
    }
    return "?";
}

std::string python_float_repr(double d) {
    if (std::isnan(d)) return "nan";
    if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
    // Shortest round-trip digits in scientific form ("1.2345e+02"), then laid
    // out as Python does: fixed notation for 1e-4 <= |d| < 1e16, else exponent.
    char buf[64];
    const auto result = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
    const std::string sci(buf, result.ptr);
    const size_t e = sci.find('e');
    const bool negative = sci[0] == '-';
    std::string digits;
    for (size_t i = negative ? 1 : 0; i < e; ++i)
        if (sci[i] != '.') digits += sci[i];
    const int exponent = std::stoi(sci.substr(e + 1));
    std::string out = negative ? "-" : "";
    if (exponent >= -4 && exponent < 16) {
        if (exponent < 0) {
            out += "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
        } else {
            const size_t int_digits = static_cast<size_t>(exponent) + 1;
            if (digits.size() <= int_digits) {
                out += digits + std::string(int_digits - digits.size(), '0') + ".0";
            } else {
                out.append(digits, 0, int_digits);
                out += '.';
                out.append(digits, int_digits, std::string::npos);
            }
        }
        return out;
    }
    out += digits.substr(0, 1);
    if (digits.size() > 1) {
        out += '.';
        out.append(digits, 1, std::string::npos);
    }
    out += fmt::format("e{}{:02d}", exponent < 0 ? '-' : '+', std::abs(exponent));
    return out;
}

namespace {

void check_budget(const std::string& out, size_t max_bytes) {
    if (out.size() > max_bytes)
        fail(ErrorCode::invalid_argument, "chat template: a value's text exceeds the output limit of {} bytes",
             max_bytes);
}

void append_quoted_repr(std::string& out, const std::string& s) {
    // Python prefers single quotes unless the text holds one and no double quote.
    const bool has_single = s.find('\'') != std::string::npos;
    const bool has_double = s.find('"') != std::string::npos;
    const char quote = (has_single && !has_double) ? '"' : '\'';
    out += quote;
    for (unsigned char c : s) {
        switch (c) {
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c == static_cast<unsigned char>(quote)) {
                    out += '\\';
                    out += static_cast<char>(c);
                } else if (c < 0x20 || c == 0x7f) {
                    out += fmt::format("\\x{:02x}", c);
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
    out += quote;
}

}  // namespace

void append_repr(std::string& out, const Value& value, size_t max_bytes) {
    switch (value.kind()) {
        case Value::Kind::string: append_quoted_repr(out, value.as_string()); break;
        case Value::Kind::array: {
            out += '[';
            bool first = true;
            for (const Value& item : value.as_array()) {
                if (!first) out += ", ";
                first = false;
                append_repr(out, item, max_bytes);
                check_budget(out, max_bytes);
            }
            out += ']';
            break;
        }
        case Value::Kind::object: {
            if (value.is_namespace()) out += "<Namespace ";
            out += '{';
            bool first = true;
            for (const auto& [key, item] : value.as_object().items()) {
                if (!first) out += ", ";
                first = false;
                append_quoted_repr(out, key);
                out += ": ";
                append_repr(out, item, max_bytes);
                check_budget(out, max_bytes);
            }
            out += '}';
            if (value.is_namespace()) out += '>';
            break;
        }
        default: append_str(out, value, max_bytes);
    }
    check_budget(out, max_bytes);
}

void append_str(std::string& out, const Value& value, size_t max_bytes) {
    switch (value.kind()) {
        case Value::Kind::undefined: break;
        case Value::Kind::none: out += "None"; break;
        case Value::Kind::boolean: out += value.as_bool() ? "True" : "False"; break;
        case Value::Kind::integer: out += fmt::format("{}", value.as_int()); break;
        case Value::Kind::floating: out += python_float_repr(value.as_double()); break;
        case Value::Kind::string: out += value.as_string(); break;
        case Value::Kind::function: out += fmt::format("<function {}>", value.function_name()); break;
        case Value::Kind::array:
        case Value::Kind::object: append_repr(out, value, max_bytes); return;
    }
    check_budget(out, max_bytes);
}

std::string to_str(const Value& value, size_t max_bytes) {
    std::string out;
    append_str(out, value, max_bytes);
    return out;
}

// Invalid UTF-8 bytes map to U+DC80..U+DCFF (Python's surrogateescape), so
// slicing and reversing never lose or invent bytes.
std::u32string utf8_to_u32(std::string_view text) {
    std::u32string out;
    out.reserve(text.size());
    size_t i = 0;
    while (i < text.size()) {
        const auto c = static_cast<unsigned char>(text[i]);
        int extra = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : -1;
        char32_t cp = extra == 0 ? c : extra == 1 ? (c & 0x1F) : extra == 2 ? (c & 0x0F) : (c & 0x07);
        bool ok = extra >= 0 && i + static_cast<size_t>(extra) < text.size();
        for (int k = 1; ok && k <= extra; ++k) {
            const auto cc = static_cast<unsigned char>(text[i + k]);
            if ((cc & 0xC0) != 0x80) ok = false;
            else cp = (cp << 6) | (cc & 0x3F);
        }
        if (ok && extra > 0) {
            static constexpr char32_t kMin[] = {0, 0x80, 0x800, 0x10000};
            if (cp < kMin[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) ok = false;
        }
        if (!ok) {
            out += static_cast<char32_t>(0xDC00 + c);
            ++i;
            continue;
        }
        out += cp;
        i += static_cast<size_t>(extra) + 1;
    }
    return out;
}

std::string u32_to_utf8(std::u32string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char32_t cp : text) {
        if (cp >= 0xDC80 && cp <= 0xDCFF) {
            out += static_cast<char>(cp - 0xDC00);
        } else if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xC0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xE0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
            out += static_cast<char>(0xF0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        }
    }
    return out;
}

size_t utf8_length(std::string_view text) { return utf8_to_u32(text).size(); }

}  // namespace apr::chat
