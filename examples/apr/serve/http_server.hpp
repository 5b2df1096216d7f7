// The HTTP side of `apr serve`: binds, routes every endpoint, enforces the
// safe defaults (API key, CORS only when asked, body cap, timeouts), writes
// one log line per request, and exits cleanly on SIGINT/SIGTERM.
#pragma once

#include "serve/service.hpp"

namespace apr::serve {

// Runs until SIGINT or SIGTERM; returns the process exit code (0 on a clean
// stop, 1 when the model fails to load or the port cannot be bound).
int run_server(const ServeOptions& options);

}  // namespace apr::serve
