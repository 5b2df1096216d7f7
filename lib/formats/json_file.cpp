#include "formats/json_file.hpp"

#include "core/fail.hpp"

namespace apr::formats {
namespace {

// The element at `key`, or nullopt when absent or null.
std::optional<simdjson::dom::element> field(simdjson::dom::object object, std::string_view key) {
    simdjson::dom::element element;
    if (object.at_key(key).get(element) != simdjson::SUCCESS || element.is_null()) return std::nullopt;
    return element;
}

[[noreturn]] void wrong_type(std::string_view file, std::string_view key, std::string_view expected) {
    fail(ErrorCode::bad_format, "{}: '{}' must be {}", file, key, expected);
}

}  // namespace

JsonDocument JsonDocument::load(const std::filesystem::path& path) {
    simdjson::padded_string text;
    if (simdjson::padded_string::load(path.string()).get(text) != simdjson::SUCCESS)
        fail(ErrorCode::io, "{}: cannot read", path.string());
    return parse_padded(text, path.string());
}

JsonDocument JsonDocument::parse(std::string_view text, std::string file) {
    return parse_padded(simdjson::padded_string(text), std::move(file));
}

JsonDocument JsonDocument::parse_padded(const simdjson::padded_string& text, std::string file) {
    JsonDocument doc;
    doc.parser_ = std::make_unique<simdjson::dom::parser>();
    doc.file_ = std::move(file);
    // The DOM keeps its strings in the parser's own buffers, so the document
    // does not refer to `text` once parsed.
    const auto error = doc.parser_->parse(text).get(doc.root_);
    if (error) fail(ErrorCode::bad_format, "{}: not valid JSON: {}", doc.file_, simdjson::error_message(error));
    return doc;
}

simdjson::dom::object JsonDocument::root_object() const {
    simdjson::dom::object object;
    if (root_.get_object().get(object) != simdjson::SUCCESS)
        fail(ErrorCode::bad_format, "{}: the top level must be a JSON object", file_);
    return object;
}

std::optional<int64_t> json_int(simdjson::dom::object object, std::string_view key, std::string_view file) {
    const auto element = field(object, key);
    if (!element) return std::nullopt;
    int64_t value;
    if (element->get_int64().get(value) != simdjson::SUCCESS) wrong_type(file, key, "an integer");
    return value;
}

std::optional<double> json_number(simdjson::dom::object object, std::string_view key, std::string_view file) {
    const auto element = field(object, key);
    if (!element) return std::nullopt;
    if (element->is_int64()) return static_cast<double>(element->get_int64().value_unsafe());
    if (element->is_uint64()) return static_cast<double>(element->get_uint64().value_unsafe());
    double value;
    if (element->get_double().get(value) != simdjson::SUCCESS) wrong_type(file, key, "a number");
    return value;
}

std::optional<bool> json_bool(simdjson::dom::object object, std::string_view key, std::string_view file) {
    const auto element = field(object, key);
    if (!element) return std::nullopt;
    bool value;
    if (element->get_bool().get(value) != simdjson::SUCCESS) wrong_type(file, key, "true or false");
    return value;
}

std::optional<std::string> json_string(simdjson::dom::object object, std::string_view key, std::string_view file) {
    const auto element = field(object, key);
    if (!element) return std::nullopt;
    std::string_view value;
    if (element->get_string().get(value) != simdjson::SUCCESS) wrong_type(file, key, "a string");
    return std::string(value);
}

std::optional<simdjson::dom::object> json_object(simdjson::dom::object object, std::string_view key,
                                                 std::string_view file) {
    const auto element = field(object, key);
    if (!element) return std::nullopt;
    simdjson::dom::object value;
    if (element->get_object().get(value) != simdjson::SUCCESS) wrong_type(file, key, "an object");
    return value;
}

std::optional<simdjson::dom::array> json_array(simdjson::dom::object object, std::string_view key,
                                               std::string_view file) {
    const auto element = field(object, key);
    if (!element) return std::nullopt;
    simdjson::dom::array value;
    if (element->get_array().get(value) != simdjson::SUCCESS) wrong_type(file, key, "an array");
    return value;
}

}  // namespace apr::formats
