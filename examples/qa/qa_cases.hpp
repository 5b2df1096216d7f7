// The prompts the matrix asks and the answers it expects. For the bundled
// nano model (recognised by its architecture and shapes) the seven chat
// cases of its model card (../shared/fixtures/README.md: greedy answers,
// the same in Hugging Face, llama.cpp and libapr at every SIMD level); for
// any other model the showcase's question, "What is 2+2? Answer with just
// the number." -> "4" (the real Qwen2.5-Coder-1.5B-Instruct answers it).
#pragma once

#include <string>
#include <vector>

#include "apr/chat_template.hpp"
#include "apr/model_config.hpp"

namespace apr::qa {

struct ChatCase {
    std::vector<ChatMessage> messages;
    std::string answer;  // the expected greedy text (surrounding whitespace ignored)
};

struct CaseSet {
    std::string name;                // "nano chat cases", "showcase question"
    std::vector<ChatCase> cases;     // the matrix cells' prompts
    // The tracing cells: one prompt for apr run / serve, and the turns piped into apr chat.
    ChatCase run_case;
    std::vector<ChatCase> chat_turns;  // each: one user message and its answer
};

bool is_nano(const ModelConfig& config);
CaseSet cases_for(const ModelConfig& config);
// The answer as compared: leading and trailing whitespace removed.
std::string normalized(const std::string& text);

}  // namespace apr::qa
