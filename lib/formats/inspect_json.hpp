// JSON text building shared by inspect_json (and so by `apr inspect --json`
// and the C ABI): string quoting that always yields valid JSON.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace apr::formats {

// `text` as a JSON string literal, quotes included: ", \ and control
// characters escaped; bytes that are not valid UTF-8 become U+FFFD.
std::string json_quote(std::string_view text);

// Appends ,"key":id (or null).
void append_optional_id(std::string& out, std::string_view key, const std::optional<int32_t>& id);

// A double as a JSON number ("1e-06", "1000000"); null when not finite.
std::string json_number_text(double value);

}  // namespace apr::formats
