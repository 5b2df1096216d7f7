// libFuzzer target for the chat-template parser and renderer. The input is a
// template, optionally followed by a NUL byte and a JSON array of messages;
// it is rendered with those messages (or a fixed conversation with a tool
// call) and with and without tools. Any apr::Error is fine; crashes, leaks,
// hangs and sanitizer reports are bugs.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "apr/chat_template.hpp"
#include "apr/error.hpp"

namespace {

const std::vector<apr::ChatMessage>& default_messages() {
    static const std::vector<apr::ChatMessage> messages = {
        {"system", "You are terse.", ""},
        {"user", "What's the weather in Paris?", ""},
        {"assistant", "", R"([{"type":"function","function":{"name":"get_weather","arguments":{"city":"Paris"}}}])"},
        {"tool", "{\"temp_c\": 21}", ""},
        {"user", "Thanks! \xC3\xBC \xF0\x9F\x98\x80", ""},
    };
    return messages;
}

constexpr std::string_view kTools =
    R"([{"type":"function","function":{"name":"get_weather","description":"Get the weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}])";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const size_t split = input.find('\0');
    const std::string_view source = input.substr(0, split);
    std::vector<apr::ChatMessage> messages = default_messages();
    if (split != std::string_view::npos) {
        try {
            messages = apr::parse_messages_json(input.substr(split + 1));
        } catch (const apr::Error&) {
        }
    }
    try {
        const apr::ChatTemplate tmpl = apr::ChatTemplate::from_source(std::string(source), "<s>", "</s>");
        try {
            (void)tmpl.render(messages, true, kTools);
        } catch (const apr::Error&) {
        }
        try {
            (void)tmpl.render(messages, false);
        } catch (const apr::Error&) {
        }
    } catch (const apr::Error&) {
    }
    return 0;
}
