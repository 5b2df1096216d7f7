// Shared plumbing of the C ABI implementation: the handles behind the opaque
// types, the thread-local last error and the exception-to-status translation
// every entry point goes through.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "apr.h"
#include "apr/model.hpp"
#include "apr/session.hpp"

namespace apr::capi {

// Copies `message` into the thread's fixed buffer (truncated, never
// allocating, so the error path itself cannot throw).
void set_last_error(const char* message) noexcept;
void append_last_error(const char* message) noexcept;
void clear_last_error() noexcept;
const char* last_error_cstr() noexcept;

// Throws apr::Error(invalid_argument, what) unless ok.
void require(bool ok, const char* what);

// Runs `body`, which returns void; converts apr::Error, std::bad_alloc and
// any other exception into a status and the last-error message. Nothing
// thrown inside ever crosses the C boundary.
template <typename Body>
apr_status guarded(Body&& body) noexcept;

// malloc'd copies the caller frees with apr_string_free / apr_tokens_free.
char* copy_string(std::string_view s);
int32_t* copy_tokens(const std::vector<int32_t>& ids);

// The C form of a model config (capi_model.cpp).
apr_model_config make_config(const apr::ModelConfig& config);

// An Observer forwarding to a caller's apr_observer.
class CObserver;

}  // namespace apr::capi

// A model handle is one reference: sessions, tokenizers and chat templates
// hold their own, so the caller may free them in any order.
struct apr_model {
    std::shared_ptr<const apr::Model> model;
};

struct apr_session {
    std::shared_ptr<const apr::Model> model;        // declared first: destroyed last
    std::unique_ptr<apr::capi::CObserver> observer;  // outlives the session that points at it
    std::unique_ptr<apr::Session> session;
    // The ids the KV cache holds, in order (session state save/load).
    std::vector<int32_t> history;
};

#include "capi_guarded.inl"
