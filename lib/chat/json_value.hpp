// JSON <-> Value: tool definitions, tool calls and message files are parsed
// with simdjson into template values, and the `tojson` filter writes them
// back exactly as Python's json.dumps does (what transformers' templates see).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "chat/value.hpp"

namespace apr::chat {

// Parses one JSON document. Object key order is kept; a repeated key keeps
// its first position and its last value (like Python's json). Throws
// apr::Error(bad_format) naming `what` (e.g. "tools JSON") on malformed input.
Value parse_json(std::string_view json, std::string_view what);

struct JsonStyle {
    std::optional<int> indent;      // json.dumps(indent=N); none: one line
    std::string item_separator;     // default ", " (or "," with indent)
    std::string key_separator;      // default ": "
    bool sort_keys = false;
    bool ensure_ascii = false;      // transformers' tojson passes False
};

// json.dumps(value, ...) with the style's options. Undefined is an error
// (Python cannot serialize it); functions too. Stops with apr::Error when
// the text would exceed max_bytes.
void append_json(std::string& out, const Value& value, const JsonStyle& style, size_t max_bytes);

}  // namespace apr::chat
