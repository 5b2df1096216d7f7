// parse_messages_json: the OpenAI-style message list a caller or the CLI
// reads from a file.
#include <simdjson.h>

#include "apr/chat_template.hpp"
#include "core/fail.hpp"

namespace apr {

namespace {

// A string, null/missing (""), or a list of {"type": "text", "text": ...}
// parts whose texts are joined (other part types cannot be rendered as text).
std::string content_text(simdjson::dom::element content, size_t index) {
    if (content.is_null()) return {};
    std::string_view text;
    if (!content.get_string().get(text)) return std::string(text);
    simdjson::dom::array parts;
    if (content.get_array().get(parts))
        fail(ErrorCode::invalid_argument, "messages[{}].content: expected a string, null or a list of text parts",
             index);
    std::string joined;
    size_t part_index = 0;
    for (simdjson::dom::element part : parts) {
        std::string_view type;
        if (part["type"].get_string().get(type) || type != "text" || part["text"].get_string().get(text))
            fail(ErrorCode::invalid_argument,
                 "messages[{}].content[{}]: expected {{\"type\": \"text\", \"text\": \"...\"}}", index, part_index);
        joined += text;
        ++part_index;
    }
    return joined;
}

}  // namespace

std::vector<ChatMessage> parse_messages_json(std::string_view json) {
    simdjson::dom::parser parser;
    simdjson::padded_string padded(json);
    simdjson::dom::element root;
    if (auto error = parser.parse(padded).get(root))
        fail(ErrorCode::invalid_argument, "messages: invalid JSON: {}", simdjson::error_message(error));
    simdjson::dom::array list;
    if (root.get_array().get(list)) fail(ErrorCode::invalid_argument, "messages: expected a JSON array of messages");
    std::vector<ChatMessage> messages;
    size_t index = 0;
    for (simdjson::dom::element item : list) {
        simdjson::dom::object object;
        if (item.get_object().get(object))
            fail(ErrorCode::invalid_argument, "messages[{}]: expected an object with 'role' and 'content'", index);
        ChatMessage message;
        std::string_view role;
        simdjson::dom::element field;
        if (object["role"].get(field)) fail(ErrorCode::invalid_argument, "messages[{}].role: missing", index);
        if (field.get_string().get(role)) fail(ErrorCode::invalid_argument, "messages[{}].role: expected a string", index);
        message.role = std::string(role);
        if (!object["content"].get(field)) message.content = content_text(field, index);
        if (!object["tool_calls"].get(field) && !field.is_null()) {
            if (!field.is_array())
                fail(ErrorCode::invalid_argument, "messages[{}].tool_calls: expected an array", index);
            message.tool_calls_json = simdjson::minify(field);
        }
        messages.push_back(std::move(message));
        ++index;
    }
    return messages;
}

}  // namespace apr
