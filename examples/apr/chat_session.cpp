#include "chat_session.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "apr/error.hpp"
#include "apr/tokenizer.hpp"
#include "json_text.hpp"

namespace apr::cli {

ChatSession::ChatSession(const Model& model, const SessionParams& params, std::optional<std::string> system)
    : model_(model), template_(ChatTemplate::from_model_file(model.file())), session_(model, params),
      system_(std::move(system)) {
    if (model.tokenizer() == nullptr)
        throw Error(ErrorCode::unsupported, model.file().path().string() + ": the model has no tokenizer");
}

std::vector<ChatMessage> ChatSession::with_system() const {
    std::vector<ChatMessage> all;
    if (system_) all.push_back({"system", *system_, {}});
    all.insert(all.end(), messages_.begin(), messages_.end());
    return all;
}

TurnResult ChatSession::turn(const std::string& user_text, const GenerateParams& params,
                             const TokenCallback& on_token) {
    std::vector<ChatMessage> all = with_system();
    all.push_back({"user", user_text, {}});
    const Tokenizer& tok = *model_.tokenizer();
    std::vector<int32_t> prompt;
    if (tok.add_bos() && tok.bos_id()) prompt.push_back(*tok.bos_id());
    const std::vector<int32_t> body = tok.encode(template_.render(all, true), true);
    prompt.insert(prompt.end(), body.begin(), body.end());

    // Keep the longest common prefix of what the cache holds; evaluate the rest.
    size_t common = 0;
    while (common < cached_.size() && common < prompt.size() && cached_[common] == prompt[common]) ++common;
    if (common == prompt.size()) --common;  // generate() needs at least one token to evaluate
    const int64_t fresh = static_cast<int64_t>(prompt.size() - common);
    if (static_cast<int64_t>(prompt.size()) >= session_.context_length())
        throw Error(ErrorCode::context_overflow,
                    fmt::format("the context is full: this turn needs {} positions and the context holds {}; "
                                "/clear starts a new conversation (or start apr chat with a larger --ctx-size)",
                                prompt.size(), session_.context_length()));
    session_.truncate(static_cast<int64_t>(common));
    cached_.resize(common);

    TurnResult r;
    r.reused_tokens = static_cast<int64_t>(common);
    r.new_tokens = fresh;
    try {
        r.generation = generate(session_, std::span<const int32_t>(prompt).subspan(common), params, on_token);
    } catch (...) {
        // The cache may hold part of the prompt; forget it rather than guess.
        session_.reset();
        cached_.clear();
        throw;
    }
    // The session now holds the prompt and the generated tokens: all but the
    // last after a normal finish, all of them when cancelled between tokens.
    cached_ = std::move(prompt);
    const auto& gen = r.generation.tokens;
    cached_.insert(cached_.end(), gen.begin(), gen.end());
    if (session_.position() <= static_cast<int64_t>(cached_.size())) {
        cached_.resize(static_cast<size_t>(session_.position()));
    } else {  // defensive: never reuse a cache whose content is not known
        session_.reset();
        cached_.clear();
    }
    r.context_full = r.generation.finish_reason == FinishReason::length &&
                     session_.position() + 1 >= session_.context_length();
    messages_.push_back({"user", user_text, {}});
    messages_.push_back({"assistant", r.generation.text, {}});
    return r;
}

void ChatSession::clear() {
    messages_.clear();
    session_.reset();
    cached_.clear();
}

void ChatSession::set_system(std::optional<std::string> system) { system_ = std::move(system); }

std::string ChatSession::to_json() const {
    std::string out = "{\"messages\": [";
    const std::vector<ChatMessage> all = with_system();
    for (size_t i = 0; i < all.size(); ++i)
        out += fmt::format("{}\n  {{\"role\": {}, \"content\": {}}}", i ? "," : "", json_string(all[i].role),
                           json_string(all[i].content));
    return out + "\n]}\n";
}

void ChatSession::save(const std::filesystem::path& file) const {
    // Written beside the target first and renamed, so a failed save never
    // leaves a half-written conversation in place of a good one.
    const std::filesystem::path tmp = file.string() + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) throw Error(ErrorCode::io, fmt::format("{}: cannot write", tmp.string()));
        out << to_json();
        out.flush();
        if (!out) throw Error(ErrorCode::io, fmt::format("{}: write failed", tmp.string()));
    }
    std::error_code ec;
    std::filesystem::rename(tmp, file, ec);
    if (ec) {
        std::filesystem::remove(tmp, ec);
        throw Error(ErrorCode::io, fmt::format("{}: cannot save ({})", file.string(), ec.message()));
    }
}

void ChatSession::load(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw Error(ErrorCode::io, fmt::format("{}: cannot open", file.string()));
    std::stringstream text;
    text << in.rdbuf();
    const std::string name = file.string();
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (auto err = parser.parse(simdjson::padded_string(text.str())).get(doc))
        throw Error(ErrorCode::bad_format, fmt::format("{}: not JSON ({})", name, simdjson::error_message(err)));
    simdjson::dom::array list;
    if (doc["messages"].get_array().get(list))
        throw Error(ErrorCode::bad_format, fmt::format("{}: expected an object with a \"messages\" array", name));
    std::optional<std::string> system;
    std::vector<ChatMessage> messages;
    size_t index = 0;
    for (simdjson::dom::element m : list) {
        std::string_view role, content;
        if (m["role"].get_string().get(role) || m["content"].get_string().get(content))
            throw Error(ErrorCode::bad_format,
                        fmt::format("{}: messages[{}] needs string \"role\" and \"content\"", name, index));
        if (role == "system" && index == 0) system = std::string(content);
        else if (role == "user" || role == "assistant") messages.push_back({std::string(role), std::string(content), {}});
        else
            throw Error(ErrorCode::bad_format,
                        fmt::format("{}: messages[{}] has role \"{}\" (expected user or assistant, or system first)",
                                    name, index, role));
        ++index;
    }
    system_ = std::move(system);
    messages_ = std::move(messages);
    // The cache stays: the next turn reuses whatever prefix still matches.
}

}  // namespace apr::cli
