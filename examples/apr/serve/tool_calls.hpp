// Qwen2.5 (and Hermes-style) tool calls in generated text:
//   <tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>
// The parser takes text as it streams, passes ordinary text through at once,
// holds back from "<tool_call>" to "</tool_call>" and turns each block into
// a ToolCall. A block whose JSON does not parse is given back as text.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "serve/json.hpp"

namespace apr::serve {

struct ToolCall {
    std::string name;
    Json arguments;          // usually an object
    std::string arguments_text() const;  // as OpenAI sends it: a JSON string
};

class ToolCallParser {
public:
    // Text to show as content now; complete calls are appended to `calls`.
    std::string push(std::string_view text, std::vector<ToolCall>& calls);
    // At the end of generation: whatever is still held.
    std::string finish(std::vector<ToolCall>& calls);

private:
    std::string buffer_;
    bool inside_ = false;
};

}  // namespace apr::serve
