#include "chat/json_value.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <cmath>

#include "core/fail.hpp"

namespace apr::chat {

namespace {

Value from_element(simdjson::dom::element element, std::string_view what) {
    switch (element.type()) {
        case simdjson::dom::element_type::ARRAY: {
            Array items;
            for (simdjson::dom::element child : simdjson::dom::array(element)) items.push_back(from_element(child, what));
            return Value::array(std::move(items));
        }
        case simdjson::dom::element_type::OBJECT: {
            Object object;
            for (auto field : simdjson::dom::object(element))
                object.set(std::string(field.key), from_element(field.value, what));
            return Value::object(std::move(object));
        }
        case simdjson::dom::element_type::INT64: return Value::integer(int64_t(element));
        // Python keeps big integers exact; beyond int64 we keep the nearest double.
        case simdjson::dom::element_type::UINT64: return Value::floating(static_cast<double>(uint64_t(element)));
        case simdjson::dom::element_type::DOUBLE: return Value::floating(double(element));
        case simdjson::dom::element_type::STRING: return Value::string(std::string(std::string_view(element)));
        case simdjson::dom::element_type::BOOL: return Value::boolean(bool(element));
        case simdjson::dom::element_type::NULL_VALUE: return Value::none();
    }
    fail(ErrorCode::bad_format, "{}: unknown JSON element type", what);
}

void check_budget(const std::string& out, size_t max_bytes) {
    if (out.size() > max_bytes)
        fail(ErrorCode::invalid_argument, "chat template: tojson output exceeds the limit of {} bytes", max_bytes);
}

// The escapes json.dumps writes for ASCII characters in either mode: '"',
// '\\', the named control characters, and \u00XX for the other controls.
// Returns false for characters that need no escape.
bool append_ascii_escape(std::string& out, uint32_t c) {
    switch (c) {
        case '"': out += "\\\""; return true;
        case '\\': out += "\\\\"; return true;
        case '\n': out += "\\n"; return true;
        case '\r': out += "\\r"; return true;
        case '\t': out += "\\t"; return true;
        case '\b': out += "\\b"; return true;
        case '\f': out += "\\f"; return true;
        default: break;
    }
    if (c >= 0x20) return false;
    out += fmt::format("\\u{:04x}", c);
    return true;
}

// json.dumps string escaping; with ensure_ascii=False only '"', '\\' and
// control characters are escaped, everything else passes through as UTF-8.
void append_json_string(std::string& out, std::string_view s, bool ensure_ascii) {
    out += '"';
    if (!ensure_ascii) {
        for (unsigned char c : s)
            if (!append_ascii_escape(out, c)) out += static_cast<char>(c);
    } else {
        for (char32_t cp : utf8_to_u32(s)) {
            const auto v = static_cast<uint32_t>(cp);
            if (append_ascii_escape(out, v)) continue;
            if (v < 0x7f) {
                out += static_cast<char>(v);
            } else if (v < 0x10000) {
                out += fmt::format("\\u{:04x}", v);
            } else {  // surrogate pair, as Python writes astral characters
                const uint32_t w = v - 0x10000;
                out += fmt::format("\\u{:04x}\\u{:04x}", 0xD800 + (w >> 10), 0xDC00 + (w & 0x3FF));
            }
        }
    }
    out += '"';
}

void newline_indent(std::string& out, const JsonStyle& style, int level) {
    if (!style.indent) return;
    out += '\n';
    out.append(static_cast<size_t>(std::max(0, *style.indent)) * static_cast<size_t>(level), ' ');
}

void append_json_at(std::string& out, const Value& value, const JsonStyle& style, size_t max_bytes, int level) {
    const std::string& item_sep = style.item_separator;
    switch (value.kind()) {
        case Value::Kind::undefined:
            fail(ErrorCode::invalid_argument, "chat template: tojson of an undefined value{}",
                 value.as_string().empty() ? "" : fmt::format(" ('{}')", value.as_string()));
        case Value::Kind::function:
            fail(ErrorCode::invalid_argument, "chat template: tojson cannot serialize function '{}'",
                 value.function_name());
        case Value::Kind::none: out += "null"; break;
        case Value::Kind::boolean: out += value.as_bool() ? "true" : "false"; break;
        case Value::Kind::integer: out += fmt::format("{}", value.as_int()); break;
        case Value::Kind::floating: {
            const double d = value.as_double();
            if (std::isnan(d)) out += "NaN";
            else if (std::isinf(d)) out += d > 0 ? "Infinity" : "-Infinity";
            else out += python_float_repr(d);
            break;
        }
        case Value::Kind::string: append_json_string(out, value.as_string(), style.ensure_ascii); break;
        case Value::Kind::array: {
            const Array& items = value.as_array();
            if (items.empty()) {
                out += "[]";
                break;
            }
            out += '[';
            for (size_t i = 0; i < items.size(); ++i) {
                if (i) out += item_sep;
                newline_indent(out, style, level + 1);
                append_json_at(out, items[i], style, max_bytes, level + 1);
                check_budget(out, max_bytes);
            }
            newline_indent(out, style, level);
            out += ']';
            break;
        }
        case Value::Kind::object: {
            const auto& items = value.as_object().items();
            if (items.empty()) {
                out += "{}";
                break;
            }
            std::vector<const std::pair<std::string, Value>*> order;
            for (const auto& item : items) order.push_back(&item);
            if (style.sort_keys)
                std::stable_sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->first < b->first; });
            out += '{';
            for (size_t i = 0; i < order.size(); ++i) {
                if (i) out += item_sep;
                newline_indent(out, style, level + 1);
                append_json_string(out, order[i]->first, style.ensure_ascii);
                out += style.key_separator;
                append_json_at(out, order[i]->second, style, max_bytes, level + 1);
                check_budget(out, max_bytes);
            }
            newline_indent(out, style, level);
            out += '}';
            break;
        }
    }
    check_budget(out, max_bytes);
}

}  // namespace

Value parse_json(std::string_view json, std::string_view what) {
    simdjson::dom::parser parser;
    simdjson::padded_string padded(json);
    simdjson::dom::element root;
    if (auto error = parser.parse(padded).get(root))
        fail(ErrorCode::bad_format, "{}: invalid JSON: {}", what, simdjson::error_message(error));
    try {
        return from_element(root, what);
    } catch (const Error& e) {  // e.g. nesting deeper than template values allow
        fail(e.code(), "{}: {}", what, e.what());
    }
}

void append_json(std::string& out, const Value& value, const JsonStyle& style, size_t max_bytes) {
    append_json_at(out, value, style, max_bytes, 0);
}

}  // namespace apr::chat
