// Turning the Hub's HTTP answers into errors a user can act on, and the
// retry loop every request goes through.
#pragma once

#include <functional>
#include <string>

#include "apr/hub.hpp"
#include "hub/http_client.hpp"

namespace apr::hub {

// Throws for any status other than 2xx/3xx/206/416: apr::Error with a
// message naming `what` (the URI) and saying what to do for 401/403
// (HF_TOKEN), 404 (which repo/file/revision), or TransientError for 429
// and 5xx, which the retry loop retries.
void check_status(const HttpResponse& response, const HubUri& what, const HubOptions& options);

// Runs `attempt` until it returns without TransientError, at most
// 1 + max_retries times, sleeping retry_delay_ms, doubled each time (at
// most 30 s), in between. The last TransientError becomes apr::Error(io)
// whose message starts with `what` and ends with `advice`.
void with_retries(const HubOptions& options, const std::string& what, const std::string& advice,
                  const std::function<void()>& attempt);

}  // namespace apr::hub
