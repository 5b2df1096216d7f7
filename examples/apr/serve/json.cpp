#include "serve/json.hpp"

#include "json_text.hpp"

#include <fmt/core.h>
#include <simdjson.h>

#include <cmath>

namespace apr::serve {

namespace {

Json from_element(simdjson::dom::element e) {
    using T = simdjson::dom::element_type;
    switch (e.type()) {
        case T::NULL_VALUE: return Json();
        case T::BOOL: return Json(bool(e.get_bool()));
        case T::INT64: return Json(int64_t(e.get_int64()));
        case T::UINT64: {
            const uint64_t u = e.get_uint64();
            return u <= static_cast<uint64_t>(INT64_MAX) ? Json(static_cast<int64_t>(u)) : Json(static_cast<double>(u));
        }
        case T::DOUBLE: return Json(double(e.get_double()));
        case T::STRING: return Json(std::string_view(e.get_string()));
        case T::ARRAY: {
            Json a = Json::array();
            for (simdjson::dom::element x : e.get_array()) a.push(from_element(x));
            return a;
        }
        case T::OBJECT: {
            Json o = Json::object();
            for (auto field : e.get_object()) o.set(field.key, from_element(field.value));
            return o;
        }
    }
    return Json();
}

}  // namespace

Json Json::parse(std::string_view text) {
    simdjson::dom::parser parser;
    simdjson::padded_string padded(text);
    simdjson::dom::element root;
    const auto error = parser.parse(padded).get(root);
    if (error) throw JsonParseError(std::string("malformed JSON: ") + simdjson::error_message(error));
    return from_element(root);
}

const Json* Json::find(std::string_view key) const {
    if (type_ != Type::object) return nullptr;
    for (const auto& [k, v] : members_)
        if (k == key) return &v;
    return nullptr;
}

Json& Json::set(std::string_view key, Json value) {
    (*this)[key] = std::move(value);
    return *this;
}

Json& Json::operator[](std::string_view key) {
    if (type_ == Type::null) type_ = Type::object;
    for (auto& [k, v] : members_)
        if (k == key) return v;
    members_.emplace_back(std::string(key), Json());
    return members_.back().second;
}

Json& Json::push(Json value) {
    if (type_ == Type::null) type_ = Type::array;
    items_.push_back(std::move(value));
    return *this;
}

bool valid_utf8(std::string_view s) {
    for (size_t i = 0; i < s.size();) {
        const int len = cli::utf8_sequence_length(s, i);
        if (len == 0) return false;
        i += static_cast<size_t>(len);
    }
    return true;
}

void Json::dump_to(std::string& out) const {
    switch (type_) {
        case Type::null: out += "null"; break;
        case Type::boolean: out += bool_ ? "true" : "false"; break;
        case Type::number:
            if (integral_) out += fmt::format("{}", int_);
            else out += cli::json_number(num_);
            break;
        case Type::string: out += cli::json_string(str_); break;
        case Type::array:
            out += '[';
            for (size_t i = 0; i < items_.size(); ++i) {
                if (i) out += ',';
                items_[i].dump_to(out);
            }
            out += ']';
            break;
        case Type::object:
            out += '{';
            for (size_t i = 0; i < members_.size(); ++i) {
                if (i) out += ',';
                out += cli::json_string(members_[i].first);
                out += ':';
                members_[i].second.dump_to(out);
            }
            out += '}';
            break;
    }
}

std::string Json::dump() const {
    std::string out;
    dump_to(out);
    return out;
}

}  // namespace apr::serve
