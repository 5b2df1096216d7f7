// Chat templates: turn a conversation into the prompt text a model was
// trained on, by running the Jinja2 template the model ships (Qwen2.5's,
// Llama 3's, ...). The interpreter covers the Jinja2 subset real chat
// templates use, renders as transformers' apply_chat_template does
// (trim_blocks, lstrip_blocks, tojson like json.dumps), and is bounded:
// hostile templates get an apr::Error with line and column, never a crash or
// a hang.
//
// Thread safety: a ChatTemplate is immutable after construction; render()
// may be called from several threads at once. Copies share the parsed form.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "apr/export.hpp"

namespace apr {

class ModelFile;

struct ChatMessage {
    std::string role;            // "system", "user", "assistant", "tool", ...
    std::string content;
    std::string tool_calls_json;  // raw JSON array of tool calls, or empty
};

class APR_API ChatTemplate {
public:
    // The template a model file carries: GGUF `tokenizer.chat_template`, or
    // for Hugging Face directories/SafeTensors files the files beside them
    // (see from_hf_path). bos/eos strings come from the file's tokenizer. A
    // file without a template, or whose template does not parse (a Jinja
    // feature outside the subset), gives ChatML with warning() saying why.
    static ChatTemplate from_model_file(const ModelFile& file);
    // A Hugging Face tokenizer folder, its tokenizer_config.json, a
    // chat_template.json or a .jinja file. In a folder, chat_template.jinja
    // wins over chat_template.json over tokenizer_config.json's
    // `chat_template` (a string, or a list of {name, template} from which
    // "default" is taken). bos/eos come from tokenizer_config.json when found.
    // Falls back to ChatML with a warning when no template is found or it
    // does not parse; throws apr::Error for unreadable or malformed files.
    static ChatTemplate from_hf_path(const std::filesystem::path& path);
    // Jinja2 source text; throws apr::Error(bad_format) with line:column on
    // syntax errors.
    static ChatTemplate from_source(std::string jinja_source, std::string bos_token = {},
                                    std::string eos_token = {});
    // The ChatML format (<|im_start|>role\ncontent<|im_end|>\n).
    static ChatTemplate chatml();

    // Renders with the variables transformers passes: messages, tools (None
    // when tools_json is empty, else the parsed JSON array),
    // add_generation_prompt, bos_token, eos_token. Throws apr::Error naming
    // the template line:column for runtime errors (including the template's
    // own raise_exception), invalid_argument for malformed tool JSON.
    std::string render(const std::vector<ChatMessage>& messages, bool add_generation_prompt = true,
                       std::string_view tools_json = {}) const;

    // Non-empty when the template is a fallback or was chosen with a caveat;
    // a message for the caller to show (the library never prints).
    const std::string& warning() const;
    bool is_fallback() const;
    const std::string& source() const;  // the Jinja2 text
    const std::string& bos_token() const;
    const std::string& eos_token() const;

    ChatTemplate(const ChatTemplate&);
    ChatTemplate(ChatTemplate&&) noexcept;
    ChatTemplate& operator=(const ChatTemplate&);
    ChatTemplate& operator=(ChatTemplate&&) noexcept;
    ~ChatTemplate();

    struct Impl;

private:
    explicit ChatTemplate(std::shared_ptr<const Impl> impl);
    std::shared_ptr<const Impl> impl_;
};

// Parses a JSON array of messages: [{"role": "...", "content": "...",
// "tool_calls": [...]}, ...]. `content` may be a string, null or missing
// (empty), or an array of {"type": "text", "text": ...} parts (joined).
// Throws apr::Error(invalid_argument) naming the bad field, e.g.
// "messages[2].role: expected a string".
APR_API std::vector<ChatMessage> parse_messages_json(std::string_view json);

}  // namespace apr
