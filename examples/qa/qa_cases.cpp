#include "qa_cases.hpp"

namespace apr::qa {
namespace {

ChatCase user(const std::string& text, const std::string& answer) { return {{{"user", text, {}}}, answer}; }

}  // namespace

bool is_nano(const ModelConfig& c) {
    return c.architecture == "qwen2" && c.num_layers == 4 && c.hidden_size == 512 && c.vocab_size == 2048 &&
           c.num_heads == 4 && c.num_kv_heads == 2 && c.intermediate_size == 1024;
}

CaseSet cases_for(const ModelConfig& config) {
    const ChatCase showcase = user("What is 2+2? Answer with just the number.", "4");
    CaseSet s;
    if (!is_nano(config)) {
        s.name = "showcase question";
        s.cases = {showcase};
        s.run_case = showcase;
        s.chat_turns = {showcase};
        return s;
    }
    s.name = "nano chat cases";
    s.cases = {
        showcase,
        user("What is 2+2?", "4"),
        user("What is 7*8?", "56"),
        user("Hi", "Hello! How can I help you today?"),
        user("Write a Python function that reverses a string.", "```python\ndef reverse(s):\n    return s[::-1]\n```"),
        {{{"system", "You are a helpful assistant.", {}}, {"user", "Compute 15 + 27.", {}}}, "42"},
        {{{"user", "Hi", {}}, {"assistant", "Hello! How can I help you today?", {}}, {"user", "What is 3+4?", {}}}, "7"},
    };
    s.run_case = showcase;
    s.chat_turns = {user("What is 2+2?", "4"), user("What is 7*8?", "56")};
    return s;
}

std::string normalized(const std::string& text) {
    const size_t begin = text.find_first_not_of(" \t\r\n");
    if (begin == std::string::npos) return "";
    const size_t end = text.find_last_not_of(" \t\r\n");
    return text.substr(begin, end - begin + 1);
}

}  // namespace apr::qa
