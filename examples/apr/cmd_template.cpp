// apr template [SOURCE] --messages FILE [--tools FILE] [--no-generation-prompt]:
// prints the prompt a model's chat template makes of a conversation.
// SOURCE is a GGUF file, a Hugging Face folder, its tokenizer_config.json, a
// chat_template.json or a .jinja file; without it, the bundled default model.
#include <fmt/core.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "apr/chat_template.hpp"
#include "apr/error.hpp"
#include "apr/model_file.hpp"
#include "commands.hpp"
#include "flags.hpp"

namespace apr::cli {
namespace {

std::string read_input(const std::string& path, const char* what) {
    std::ostringstream text;
    if (path == "-") {
        text << std::cin.rdbuf();
        return text.str();
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(ErrorCode::io, fmt::format("{}: cannot open {} file", path, what));
    text << in.rdbuf();
    return text.str();
}

ChatTemplate load_template(const std::filesystem::path& source) {
    const std::string extension = source.extension().string();
    if (std::filesystem::is_directory(source) || extension == ".json" || extension == ".jinja")
        return ChatTemplate::from_hf_path(source);
    return ChatTemplate::from_model_file(*open_model_file(source));
}

}  // namespace

int cmd_template(const Args& args) {
    Flags flags("apr template", "[SOURCE] --messages FILE [--tools FILE] [--no-generation-prompt]",
                "Render a conversation through a model's chat template and print the prompt text.\n"
                "SOURCE is a GGUF file, a Hugging Face folder, tokenizer_config.json, chat_template.json or a\n"
                ".jinja file. FILE holds a JSON array of messages ({\"role\", \"content\", \"tool_calls\"});\n"
                "'-' reads standard input.");
    std::string messages_path;
    std::string tools_path;
    bool no_generation_prompt = false;
    flags.add("--messages", &messages_path, "JSON array of messages to render (required)", "FILE");
    flags.add("--tools", &tools_path, "JSON array of tool definitions passed to the template as `tools`", "FILE");
    flags.add("--no-generation-prompt", &no_generation_prompt,
              "do not end with the assistant header (add_generation_prompt = false)");
    const std::vector<std::string> positional = flags.parse(args);
    if (positional.size() > 1) throw UsageError("expected at most one SOURCE");
    if (messages_path.empty()) throw UsageError("--messages FILE is required");
    const std::string source = positional.empty() ? default_model_path() : positional.front();

    const std::vector<ChatMessage> messages = parse_messages_json(read_input(messages_path, "messages"));
    const std::string tools = tools_path.empty() ? std::string() : read_input(tools_path, "tools");
    const ChatTemplate tmpl = load_template(source);
    if (!tmpl.warning().empty()) fmt::print(stderr, "apr template: warning: {}\n", tmpl.warning());
    const std::string prompt = tmpl.render(messages, !no_generation_prompt, tools);
    std::fwrite(prompt.data(), 1, prompt.size(), stdout);
    return 0;
}

}  // namespace apr::cli
