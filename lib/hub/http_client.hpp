// A small blocking HTTP client over libcurl: one request, redirects
// followed, the headers of every response in the chain kept (the Hub puts
// the checksum on its redirect, not on the CDN's answer), the body streamed
// to a sink or collected.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace apr::hub {

// A failure worth retrying: the connection failed, dropped or stalled.
struct TransientError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct HttpRequest {
    std::string url;
    std::string bearer_token;     // sent as Authorization (never to another host after a redirect)
    bool head = false;
    uint64_t range_from = 0;      // > 0: "Range: bytes=N-"
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;  // names lower-cased

struct HttpResponse {
    long status = 0;
    std::vector<HeaderList> chain;  // one per response, redirects first, the final one last
    std::string effective_url;
    std::string body;               // the final body when no sink took it (error bodies always)

    // The header of the final response, or of the first response that has it.
    std::optional<std::string> final_header(const std::string& lower_name) const;
    std::optional<std::string> first_header(const std::string& lower_name) const;
};

// Receives the body of a 2xx response, with its status and the headers so
// far (the final response's are complete by then); returns false to abort
// (the sink keeps its own reason, which the caller reports instead).
using BodySink = std::function<bool(long status, const HttpResponse& response, const char* data, size_t size)>;

// Performs the request. Throws TransientError for transport failures and
// apr::Error(io) for ones retrying will not fix; an HTTP error status is
// returned, not thrown. A sink that returned false ends the transfer with
// `aborted` set.
HttpResponse http_request(const HttpRequest& request, const BodySink& sink, bool* aborted = nullptr);

// The URL form of a path segment ("a b" -> "a%20b").
std::string url_escape(const std::string& text);

}  // namespace apr::hub
