// The endpoints of both APIs, registered on the HTTP server by
// http_server.cpp. Handlers parse and validate the request (throwing
// ApiError), submit to the scheduler through the Service, and write the
// response or stream in their API's shape.
#pragma once

#include <httplib.h>

#include <string>

#include "serve/api_error.hpp"
#include "serve/json.hpp"
#include "serve/service.hpp"

namespace apr::serve {

// OpenAI: POST /v1/chat/completions, POST /v1/completions, GET /v1/models.
void openai_chat_completions(Service& service, const httplib::Request& req, httplib::Response& res);
void openai_completions(Service& service, const httplib::Request& req, httplib::Response& res);
void openai_models(Service& service, const httplib::Request& req, httplib::Response& res);
// {"error": {"message", "type", "param", "code"}}
std::string openai_error_body(const ApiError& e);

// Ollama: POST /api/chat, /api/generate, /api/show; GET /api/tags, /api/ps, /api/version.
void ollama_chat(Service& service, const httplib::Request& req, httplib::Response& res);
void ollama_generate(Service& service, const httplib::Request& req, httplib::Response& res);
void ollama_show(Service& service, const httplib::Request& req, httplib::Response& res);
void ollama_tags(Service& service, const httplib::Request& req, httplib::Response& res);
void ollama_ps(Service& service, const httplib::Request& req, httplib::Response& res);
void ollama_version(Service& service, const httplib::Request& req, httplib::Response& res);
// {"error": "..."}
std::string ollama_error_body(const ApiError& e);

// libapr's own: POST /tokenize, POST /detokenize (llama-server's shapes).
void tokenize_endpoint(Service& service, const httplib::Request& req, httplib::Response& res);
void detokenize_endpoint(Service& service, const httplib::Request& req, httplib::Response& res);

// The request body as a JSON object (400 for malformed JSON or a non-object).
Json parse_body(const httplib::Request& req);
// Parses an OpenAI/Ollama "messages" array into template messages.
std::vector<ChatMessage> parse_chat_messages(const Json& messages, bool ollama);

}  // namespace apr::serve
