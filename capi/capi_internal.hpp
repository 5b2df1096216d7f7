// Shared plumbing of the C ABI implementation: the thread-local last error
// and the exception-to-status translation every entry point goes through.
#pragma once

#include <string>

#include "apr.h"

namespace apr::capi {

void set_last_error(std::string message);
void clear_last_error();
const char* last_error_cstr();

// Runs `body`, which returns void; converts apr::Error, std::bad_alloc and
// any other exception into a status and the last-error message. Nothing
// thrown inside ever crosses the C boundary.
template <typename Body>
apr_status guarded(Body&& body) noexcept;

}  // namespace apr::capi

#include "capi_guarded.inl"
