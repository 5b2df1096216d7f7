// A small JSON value for the server: requests are parsed with simdjson into
// it (so handlers can check every field's type and name it in errors), and
// responses are built with it and written with dump(). Object keys keep
// their order, as clients and tests read them.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace apr::serve {

// Malformed JSON text; the message says where.
struct JsonParseError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class Json {
public:
    enum class Type { null, boolean, number, string, array, object };

    Json() = default;
    Json(std::nullptr_t) {}
    Json(bool b) : type_(Type::boolean), bool_(b) {}
    Json(int v) : Json(static_cast<int64_t>(v)) {}
    Json(int64_t v) : type_(Type::number), integral_(true), int_(v), num_(static_cast<double>(v)) {}
    Json(uint64_t v) : Json(static_cast<int64_t>(v)) {}
    Json(double v) : type_(Type::number), num_(v) {}
    Json(std::string s) : type_(Type::string), str_(std::move(s)) {}
    Json(std::string_view s) : type_(Type::string), str_(s) {}
    Json(const char* s) : type_(Type::string), str_(s) {}
    static Json array() { Json j; j.type_ = Type::array; return j; }
    static Json object() { Json j; j.type_ = Type::object; return j; }
    // Throws JsonParseError.
    static Json parse(std::string_view text);

    Type type() const { return type_; }
    bool is_null() const { return type_ == Type::null; }
    bool is_bool() const { return type_ == Type::boolean; }
    bool is_number() const { return type_ == Type::number; }
    bool is_integer() const { return type_ == Type::number && integral_; }
    bool is_string() const { return type_ == Type::string; }
    bool is_array() const { return type_ == Type::array; }
    bool is_object() const { return type_ == Type::object; }

    bool as_bool() const { return bool_; }
    double as_double() const { return num_; }
    int64_t as_int() const { return integral_ ? int_ : static_cast<int64_t>(num_); }
    const std::string& as_string() const { return str_; }
    const std::vector<Json>& items() const { return items_; }
    const std::vector<std::pair<std::string, Json>>& members() const { return members_; }

    // Object member or null when absent (or not an object).
    const Json* find(std::string_view key) const;
    // Sets (or replaces) an object member; returns *this for chaining.
    Json& set(std::string_view key, Json value);
    // Member for writing, created as null when absent.
    Json& operator[](std::string_view key);
    Json& push(Json value);
    size_t size() const { return type_ == Type::array ? items_.size() : members_.size(); }

    std::string dump() const;
    void dump_to(std::string& out) const;

private:
    Type type_ = Type::null;
    bool bool_ = false;
    bool integral_ = false;
    int64_t int_ = 0;
    double num_ = 0;
    std::string str_;
    std::vector<Json> items_;
    std::vector<std::pair<std::string, Json>> members_;
};

// Text is valid UTF-8.
bool valid_utf8(std::string_view s);

}  // namespace apr::serve
