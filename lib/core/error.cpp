#include "apr/error.hpp"

namespace apr {

const char* error_code_name(ErrorCode code) noexcept {
    switch (code) {
        case ErrorCode::ok: return "ok";
        case ErrorCode::invalid_argument: return "invalid_argument";
        case ErrorCode::io: return "io";
        case ErrorCode::bad_format: return "bad_format";
        case ErrorCode::unsupported: return "unsupported";
        case ErrorCode::out_of_memory: return "out_of_memory";
        case ErrorCode::context_overflow: return "context_overflow";
        case ErrorCode::cancelled: return "cancelled";
        case ErrorCode::not_found: return "not_found";
        case ErrorCode::internal: return "internal";
    }
    return "unknown";
}

Error::Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}

}  // namespace apr
