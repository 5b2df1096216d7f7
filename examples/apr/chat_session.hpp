// One conversation of `apr chat` on a model: the messages, the Session whose
// KV cache holds what was already evaluated, and the turn runner that
// evaluates only what is new.
//
// Each turn renders the whole conversation through the model's chat template
// and tokenizes it; the tokens the session already holds (the previous
// prompts and answers) are compared with it and only the part after their
// longest common prefix is evaluated. After generate() the session holds all
// generated tokens but the last (docs/architecture.md); that last token
// (usually <|im_end|>) is simply the first new token of the next turn.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "apr/chat_template.hpp"
#include "apr/generate.hpp"
#include "apr/model.hpp"
#include "apr/session.hpp"

namespace apr::cli {

struct TurnResult {
    GenerateResult generation;
    int64_t reused_tokens = 0;  // prompt tokens already in the KV cache
    int64_t new_tokens = 0;     // prompt tokens evaluated this turn
    bool context_full = false;  // the answer stopped because the context is full
};

class ChatSession {
public:
    ChatSession(const Model& model, const SessionParams& params, std::optional<std::string> system);

    // Appends the user's message, generates the answer (streamed through
    // on_token) and appends it (also when cancelled, as far as it got).
    // Throws apr::Error(context_overflow) when the prompt does not fit; the
    // conversation is then left as it was.
    TurnResult turn(const std::string& user_text, const GenerateParams& params, const TokenCallback& on_token);

    // Forgets the messages (keeps the system message) and the cache.
    void clear();
    void set_system(std::optional<std::string> system);
    const std::optional<std::string>& system() const { return system_; }
    const std::vector<ChatMessage>& messages() const { return messages_; }  // without the system message

    // The conversation as JSON: {"messages": [{"role": ..., "content": ...}, ...]}
    // with the system message first when there is one.
    std::string to_json() const;
    void save(const std::filesystem::path& file) const;
    // Replaces the conversation with the one in `file`; throws apr::Error
    // naming the file and what is wrong (the current one is kept then).
    void load(const std::filesystem::path& file);

    Session& session() { return session_; }
    int64_t cached_tokens() const { return static_cast<int64_t>(cached_.size()); }
    int64_t context_length() const { return session_.context_length(); }

private:
    std::vector<ChatMessage> with_system() const;

    const Model& model_;
    ChatTemplate template_;
    Session session_;
    std::optional<std::string> system_;
    std::vector<ChatMessage> messages_;
    std::vector<int32_t> cached_;  // exactly the tokens the session's KV cache holds
};

}  // namespace apr::cli
