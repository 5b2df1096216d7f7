// libFuzzer target for the chat-template parser and renderer. The input is a
// template, optionally followed by a NUL byte and a JSON array of messages;
// it is rendered with those messages (or a fixed conversation with a tool
// call), with and without tools. Any apr::Error is fine; crashes, leaks,
// sanitizer reports and slow inputs are bugs. Rendering runs under limits
// far tighter than the library's defaults, so an input that is still slow
// does work the step budget does not see.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "apr/chat_template.hpp"
#include "apr/error.hpp"
#include "chat/chat_template_impl.hpp"
#include "chat/parser.hpp"

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
    apr::ChatTemplate::Impl impl;
    try {
        impl.parsed = apr::chat::parse_template(source);
    } catch (const apr::Error&) {
        return 0;
    }
    impl.bos_token = "<s>";
    impl.eos_token = "</s>";
    apr::chat::RenderLimits limits;
    limits.max_output_bytes = size_t{1} << 20;
    limits.max_steps = 100'000;
    limits.max_list_items = 100'000;
    for (const bool with_tools : {true, false}) {
        try {
            (void)apr::render_chat(impl, messages, with_tools, with_tools ? kTools : std::string_view(), limits);
        } catch (const apr::Error&) {
        }
    }
    return 0;
}
