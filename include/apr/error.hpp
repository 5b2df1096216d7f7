// The one exception type of libapr's C++ API. Every failure the library can
// detect (bad files, bad arguments, context overflow, ...) is reported as an
// apr::Error carrying a code; the C ABI maps the same codes to apr_status.
#pragma once

#include <stdexcept>
#include <string>

#include "apr/export.hpp"

namespace apr {

// Values match apr_status in capi/apr.h; never renumber, only append.
enum class ErrorCode : int {
    ok = 0,
    invalid_argument = 1,  // a caller-supplied value is out of range or malformed
    io = 2,                // the operating system refused a read, write, open or map
    bad_format = 3,        // a model, tokenizer or template file is malformed
    unsupported = 4,       // well-formed input that libapr does not handle (yet)
    out_of_memory = 5,
    context_overflow = 6,  // a session ran out of KV-cache positions
    cancelled = 7,         // the caller asked generation to stop
    not_found = 8,         // a named tensor, key, file or token does not exist
    internal = 9,          // a bug in libapr: please report it
};

// Stable lower-case name of a code, e.g. "bad_format".
APR_API const char* error_code_name(ErrorCode code) noexcept;

class APR_API Error : public std::runtime_error {
public:
    Error(ErrorCode code, const std::string& message);
    ErrorCode code() const noexcept { return code_; }

private:
    ErrorCode code_;
};

}  // namespace apr
