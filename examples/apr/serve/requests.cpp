// Request parsing shared by both APIs, and the /tokenize and /detokenize endpoints.
#include <fmt/core.h>

#include "serve/api.hpp"
#include "serve/fields.hpp"

namespace apr::serve {

Json parse_body(const httplib::Request& req) {
    if (req.body.empty()) throw ApiError(400, "the request body is empty; expected a JSON object", "", "invalid_json");
    Json body;
    try {
        body = Json::parse(req.body);
    } catch (const JsonParseError& e) {
        throw ApiError(400, std::string("the request body is not valid JSON (") + e.what() + ")", "", "invalid_json");
    }
    if (!body.is_object()) throw ApiError(400, "the request body must be a JSON object", "", "invalid_json");
    return body;
}

namespace {

std::string message_content(const Json& m, const std::string& where) {
    const Json* c = field(m, "content");
    if (c == nullptr) return {};
    if (c->is_string()) return c->as_string();
    if (!c->is_array()) bad_field(where + ".content", "expected a string or a list of content parts");
    std::string text;
    for (size_t i = 0; i < c->items().size(); ++i) {
        const Json& part = c->items()[i];
        const std::string p = fmt::format("{}.content[{}]", where, i);
        if (!part.is_object()) bad_field(p, "expected an object {\"type\": \"text\", \"text\": ...}");
        const auto type = get_string(part, "type", p + ".");
        if (!type) bad_field(p + ".type", "missing");
        if (*type != "text") bad_field(p + ".type", "'" + *type + "' is not supported (only text parts)");
        const auto t = get_string(part, "text", p + ".");
        if (!t) bad_field(p + ".text", "missing");
        text += *t;
    }
    return text;
}

// Tool calls as the chat template wants them: function.arguments as an object.
std::string message_tool_calls(const Json& m, const std::string& where) {
    const Json* calls = field(m, "tool_calls");
    if (calls == nullptr) return {};
    if (!calls->is_array()) bad_field(where + ".tool_calls", "expected a list");
    Json out = Json::array();
    for (size_t i = 0; i < calls->items().size(); ++i) {
        const Json& call = calls->items()[i];
        const std::string p = fmt::format("{}.tool_calls[{}]", where, i);
        if (!call.is_object()) bad_field(p, "expected an object");
        const Json* fn = field(call, "function");
        if (fn == nullptr || !fn->is_object()) bad_field(p + ".function", "expected an object with name and arguments");
        const auto name = get_string(*fn, "name", p + ".function.");
        if (!name) bad_field(p + ".function.name", "missing");
        Json args = Json::object();
        if (const Json* a = field(*fn, "arguments")) {
            if (a->is_string()) {
                try {
                    args = Json::parse(a->as_string());
                } catch (const JsonParseError&) {
                    bad_field(p + ".function.arguments", "not a JSON object");
                }
            } else if (a->is_object()) {
                args = *a;
            } else {
                bad_field(p + ".function.arguments", "expected an object or a JSON string");
            }
        }
        Json f = Json::object();
        f.set("name", *name).set("arguments", std::move(args));
        Json c = Json::object();
        c.set("type", "function").set("function", std::move(f));
        out.push(std::move(c));
    }
    return out.dump();
}

}  // namespace

std::vector<ChatMessage> parse_chat_messages(const Json& messages, bool ollama) {
    (void)ollama;
    if (!messages.is_array()) bad_field("messages", "expected a list of messages");
    if (messages.items().empty()) bad_field("messages", "is empty; at least one message is needed");
    std::vector<ChatMessage> out;
    for (size_t i = 0; i < messages.items().size(); ++i) {
        const Json& m = messages.items()[i];
        const std::string where = fmt::format("messages[{}]", i);
        if (!m.is_object()) bad_field(where, "expected an object with role and content");
        const auto role = get_string(m, "role", where + ".");
        if (!role) bad_field(where + ".role", "missing");
        std::string r = *role;
        if (r == "developer") r = "system";  // OpenAI's newer name for system
        if (r != "system" && r != "user" && r != "assistant" && r != "tool")
            bad_field(where + ".role", "'" + *role + "' is not one of system, user, assistant, tool");
        out.push_back({r, message_content(m, where), message_tool_calls(m, where)});
    }
    return out;
}

void tokenize_endpoint(Service& service, const httplib::Request& req, httplib::Response& res) {
    const Json body = parse_body(req);
    const auto content = get_string(body, "content");
    if (!content) bad_field("content", "missing (the text to tokenize)");
    const bool add_special = get_bool(body, "add_special").value_or(false);
    const bool with_pieces = get_bool(body, "with_pieces").value_or(false);
    const Tokenizer& tok = service.tokenizer();
    std::vector<int32_t> ids;
    if (add_special && tok.add_bos() && tok.bos_id()) ids.push_back(*tok.bos_id());
    const auto body_ids = tok.encode(*content, true);
    ids.insert(ids.end(), body_ids.begin(), body_ids.end());
    Json tokens = Json::array();
    for (int32_t id : ids) {
        if (!with_pieces) {
            tokens.push(id);
            continue;
        }
        Json t = Json::object();
        t.set("id", id).set("piece", service.token_bytes(id));
        tokens.push(std::move(t));
    }
    Json out = Json::object();
    out.set("tokens", std::move(tokens));
    res.set_content(out.dump(), "application/json");
}

void detokenize_endpoint(Service& service, const httplib::Request& req, httplib::Response& res) {
    const Json body = parse_body(req);
    const Json* tokens = field(body, "tokens");
    if (tokens == nullptr || !tokens->is_array()) bad_field("tokens", "expected a list of token ids");
    std::vector<int32_t> ids;
    const int64_t vocab = service.tokenizer().vocab_size();
    for (size_t i = 0; i < tokens->items().size(); ++i) {
        const Json& t = tokens->items()[i];
        if (!t.is_integer()) bad_field(fmt::format("tokens[{}]", i), "expected an integer token id");
        if (t.as_int() < 0 || t.as_int() >= vocab)
            bad_field(fmt::format("tokens[{}]", i), fmt::format("{} is outside the vocabulary (0..{})", t.as_int(), vocab - 1));
        ids.push_back(static_cast<int32_t>(t.as_int()));
    }
    Json out = Json::object();
    out.set("content", service.tokenizer().decode(ids));
    res.set_content(out.dump(), "application/json");
}

}  // namespace apr::serve
