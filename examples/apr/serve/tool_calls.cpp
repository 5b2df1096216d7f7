#include "serve/tool_calls.hpp"

#include <algorithm>

namespace apr::serve {

namespace {
constexpr std::string_view kOpen = "<tool_call>";
constexpr std::string_view kClose = "</tool_call>";

bool parse_call(std::string_view body, ToolCall& call) {
    try {
        const Json j = Json::parse(body);
        const Json* name = j.find("name");
        if (name == nullptr || !name->is_string() || name->as_string().empty()) return false;
        call.name = name->as_string();
        const Json* args = j.find("arguments");
        if (args == nullptr || args->is_null()) call.arguments = Json::object();
        else if (args->is_string()) {
            // Some models write the arguments as a JSON string; keep an object when it is one.
            try {
                call.arguments = Json::parse(args->as_string());
            } catch (const JsonParseError&) {
                call.arguments = *args;
            }
        } else call.arguments = *args;
        return true;
    } catch (const JsonParseError&) {
        return false;
    }
}
}  // namespace

std::string ToolCall::arguments_text() const { return arguments.is_string() ? arguments.as_string() : arguments.dump(); }

std::string ToolCallParser::push(std::string_view text, std::vector<ToolCall>& calls) {
    buffer_ += text;
    std::string out;
    for (;;) {
        if (!inside_) {
            const size_t at = buffer_.find(kOpen);
            if (at != std::string::npos) {
                out += buffer_.substr(0, at);
                buffer_.erase(0, at + kOpen.size());
                inside_ = true;
                continue;
            }
            // Hold back a tail that could still become "<tool_call>".
            size_t keep = 0;
            for (size_t len = std::min(kOpen.size() - 1, buffer_.size()); len > 0; --len)
                if (buffer_.compare(buffer_.size() - len, len, kOpen.substr(0, len)) == 0) {
                    keep = len;
                    break;
                }
            out += buffer_.substr(0, buffer_.size() - keep);
            buffer_.erase(0, buffer_.size() - keep);
            return out;
        }
        const size_t end = buffer_.find(kClose);
        if (end == std::string::npos) return out;
        ToolCall call;
        if (parse_call(std::string_view(buffer_).substr(0, end), call)) calls.push_back(std::move(call));
        else out += std::string(kOpen) + buffer_.substr(0, end + kClose.size());
        buffer_.erase(0, end + kClose.size());
        inside_ = false;
    }
}

std::string ToolCallParser::finish(std::vector<ToolCall>& calls) {
    std::string out;
    if (inside_) {
        ToolCall call;
        if (parse_call(buffer_, call)) calls.push_back(std::move(call));
        else out = std::string(kOpen) + buffer_;
    } else {
        out = buffer_;
    }
    buffer_.clear();
    inside_ = false;
    return out;
}

}  // namespace apr::serve
