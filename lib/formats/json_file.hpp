// JSON documents read with simdjson's DOM API, and typed field reads whose
// errors name the file and the field (config.json, tokenizer.json, the
// SafeTensors header, shard indexes).
#pragma once

#include <simdjson.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace apr::formats {

class JsonDocument {
public:
    // Throws apr::Error(io) when the file cannot be read and
    // apr::Error(bad_format) naming it when it is not valid JSON.
    static JsonDocument load(const std::filesystem::path& path);
    // Parses `text` (copied into a padded buffer); `file` names it in errors.
    static JsonDocument parse(std::string_view text, std::string file);

    simdjson::dom::element root() const { return root_; }
    // The root as an object; throws bad_format when it is not one.
    simdjson::dom::object root_object() const;
    const std::string& file() const { return file_; }

private:
    static JsonDocument parse_padded(const simdjson::padded_string& text, std::string file);
    std::unique_ptr<simdjson::dom::parser> parser_;
    simdjson::dom::element root_;
    std::string file_;
};

// Field reads from an object: nullopt when the key is absent or null;
// apr::Error(bad_format) "<file>: '<key>' must be ..." for another type.
std::optional<int64_t> json_int(simdjson::dom::object object, std::string_view key, std::string_view file);
std::optional<double> json_number(simdjson::dom::object object, std::string_view key, std::string_view file);
std::optional<bool> json_bool(simdjson::dom::object object, std::string_view key, std::string_view file);
std::optional<std::string> json_string(simdjson::dom::object object, std::string_view key, std::string_view file);
std::optional<simdjson::dom::object> json_object(simdjson::dom::object object, std::string_view key,
                                                 std::string_view file);
std::optional<simdjson::dom::array> json_array(simdjson::dom::object object, std::string_view key,
                                               std::string_view file);

}  // namespace apr::formats
