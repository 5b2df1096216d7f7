// A request the server refuses: the HTTP status and what to tell the client.
// Each API writes it in its own shape (OpenAI: {"error": {message, type,
// param, code}}; Ollama: {"error": "..."}).
#pragma once

#include <stdexcept>
#include <string>

namespace apr::serve {

struct ApiError : std::runtime_error {
    ApiError(int status_, const std::string& message, std::string param_ = {}, std::string code_ = {})
        : std::runtime_error(message), status(status_), param(std::move(param_)), code(std::move(code_)) {}
    int status;
    std::string param;  // the request field at fault, if any
    std::string code;   // a machine-readable code ("model_not_found", ...), if any
    std::string retry_after;  // for 503: seconds to wait, sent as Retry-After
};

}  // namespace apr::serve
