// Typed reads of request fields: each throws ApiError(400) naming the field
// ("messages[1].role: expected a string") when the type or range is wrong,
// and returns nullopt when the field is absent (or null).
#pragma once

#include <fmt/core.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "serve/api_error.hpp"
#include "serve/json.hpp"

namespace apr::serve {

inline const Json* field(const Json& obj, const char* key) {
    const Json* v = obj.find(key);
    return v == nullptr || v->is_null() ? nullptr : v;
}

[[noreturn]] inline void bad_field(const std::string& name, const std::string& what) {
    throw ApiError(400, name + ": " + what, name, "invalid_value");
}

inline std::optional<std::string> get_string(const Json& obj, const char* key, const std::string& prefix = {}) {
    const Json* v = field(obj, key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_string()) bad_field(prefix + key, "expected a string");
    return v->as_string();
}

inline std::optional<bool> get_bool(const Json& obj, const char* key, const std::string& prefix = {}) {
    const Json* v = field(obj, key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_bool()) bad_field(prefix + key, "expected true or false");
    return v->as_bool();
}

inline std::optional<int64_t> get_int(const Json& obj, const char* key, int64_t lo, int64_t hi,
                                      const std::string& prefix = {}) {
    const Json* v = field(obj, key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_number() || (!v->is_integer() && v->as_double() != static_cast<double>(static_cast<int64_t>(v->as_double()))))
        bad_field(prefix + key, "expected an integer");
    const int64_t x = v->as_int();
    if (x < lo || x > hi) bad_field(prefix + key, fmt::format("{} is out of range ({}..{})", x, lo, hi));
    return x;
}

inline std::string fmt_range(double x, double lo, double hi) {
    return fmt::format("{} is out of range ({}..{})", x, lo, hi);
}

inline std::optional<double> get_number(const Json& obj, const char* key, double lo, double hi,
                                        const std::string& prefix = {}) {
    const Json* v = field(obj, key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_number()) bad_field(prefix + key, "expected a number");
    const double x = v->as_double();
    if (!(x >= lo && x <= hi)) bad_field(prefix + key, fmt_range(x, lo, hi));
    return x;
}

// "stop": a string or a list of strings.
inline std::vector<std::string> get_stop(const Json& obj, const char* key, const std::string& prefix = {}) {
    std::vector<std::string> out;
    const Json* v = field(obj, key);
    if (v == nullptr) return out;
    if (v->is_string()) {
        out.push_back(v->as_string());
        return out;
    }
    if (!v->is_array()) bad_field(prefix + key, "expected a string or a list of strings");
    if (v->items().size() > 16) bad_field(prefix + key, "at most 16 stop strings");
    for (const Json& s : v->items()) {
        if (!s.is_string()) bad_field(prefix + key, "expected a string or a list of strings");
        out.push_back(s.as_string());
    }
    return out;
}

}  // namespace apr::serve
