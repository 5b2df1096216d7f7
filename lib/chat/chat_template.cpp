// apr::ChatTemplate: parses once, renders with transformers' variables.
#include "apr/chat_template.hpp"

#include "chat/chat_template_impl.hpp"
#include "chat/json_value.hpp"
#include "chat/parser.hpp"
#include "chat/render.hpp"
#include "core/fail.hpp"

namespace apr {

namespace {

constexpr std::string_view kChatmlSource =
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";

chat::Value message_value(const ChatMessage& message, size_t index) {
    chat::Object object;
    object.set("role", chat::Value::string(message.role));
    object.set("content", chat::Value::string(message.content));
    if (!message.tool_calls_json.empty()) {
        chat::Value calls;
        try {
            calls = chat::parse_json(message.tool_calls_json, fmt::format("messages[{}].tool_calls", index));
        } catch (const Error& e) {
            throw Error(ErrorCode::invalid_argument, e.what());
        }
        object.set("tool_calls", std::move(calls));
    }
    return chat::Value::object(std::move(object));
}

}  // namespace

ChatTemplate::ChatTemplate(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
ChatTemplate::ChatTemplate(const ChatTemplate&) = default;
ChatTemplate::ChatTemplate(ChatTemplate&&) noexcept = default;
ChatTemplate& ChatTemplate::operator=(const ChatTemplate&) = default;
ChatTemplate& ChatTemplate::operator=(ChatTemplate&&) noexcept = default;
ChatTemplate::~ChatTemplate() = default;

ChatTemplate ChatTemplate::from_source(std::string jinja_source, std::string bos_token, std::string eos_token) {
    auto impl = std::make_shared<Impl>();
    impl->parsed = chat::parse_template(jinja_source);
    impl->source = std::move(jinja_source);
    impl->bos_token = std::move(bos_token);
    impl->eos_token = std::move(eos_token);
    return ChatTemplate(std::move(impl));
}

ChatTemplate ChatTemplate::chatml() {
    auto impl = std::make_shared<Impl>();
    impl->source = std::string(kChatmlSource);
    impl->parsed = chat::parse_template(impl->source);
    impl->eos_token = "<|im_end|>";
    impl->fallback = true;
    return ChatTemplate(std::move(impl));
}

std::string ChatTemplate::render(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                                 std::string_view tools_json) const {
    return render_chat(*impl_, messages, add_generation_prompt, tools_json, chat::RenderLimits{});
}

std::string render_chat(const ChatTemplate::Impl& impl, const std::vector<ChatMessage>& messages,
                        bool add_generation_prompt, std::string_view tools_json, const chat::RenderLimits& limits) {
    chat::Scope globals;
    chat::Array items;
    for (size_t i = 0; i < messages.size(); ++i) items.push_back(message_value(messages[i], i));
    globals["messages"] = chat::Value::array(std::move(items));
    if (tools_json.empty()) {
        globals["tools"] = chat::Value::none();
    } else {
        chat::Value tools;
        try {
            tools = chat::parse_json(tools_json, "tools JSON");
        } catch (const Error& e) {
            throw Error(ErrorCode::invalid_argument, e.what());
        }
        if (!tools.is_array()) fail(ErrorCode::invalid_argument, "tools JSON: expected an array of tools, got {}", tools.type_name());
        globals["tools"] = std::move(tools);
    }
    globals["add_generation_prompt"] = chat::Value::boolean(add_generation_prompt);
    // transformers passes special tokens only when the tokenizer has them.
    if (!impl.bos_token.empty()) globals["bos_token"] = chat::Value::string(impl.bos_token);
    if (!impl.eos_token.empty()) globals["eos_token"] = chat::Value::string(impl.eos_token);
    chat::Renderer renderer{limits};
    return renderer.render(impl.parsed, std::move(globals));
}

const std::string& ChatTemplate::warning() const { return impl_->warning; }
bool ChatTemplate::is_fallback() const { return impl_->fallback; }
const std::string& ChatTemplate::source() const { return impl_->source; }
const std::string& ChatTemplate::bos_token() const { return impl_->bos_token; }
const std::string& ChatTemplate::eos_token() const { return impl_->eos_token; }

}  // namespace apr
