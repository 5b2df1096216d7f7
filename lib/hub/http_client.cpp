#include "hub/http_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>

#include "apr/version.hpp"
#include "core/fail.hpp"

namespace apr::hub {
namespace {

constexpr size_t kMaxErrorBody = 64 * 1024;

void global_init() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
    CURL* curl = nullptr;
    HttpResponse* response = nullptr;
    const BodySink* sink = nullptr;
    bool aborted = false;
};

size_t on_header(char* data, size_t size, size_t count, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const size_t n = size * count;
    std::string line(data, n);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    if (line.starts_with("HTTP/")) {
        t->response->chain.emplace_back();  // a new response of the chain begins
        return n;
    }
    const size_t colon = line.find(':');
    if (colon == std::string::npos || t->response->chain.empty()) return n;
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    size_t start = colon + 1;
    while (start < line.size() && (line[start] == ' ' || line[start] == '\t')) ++start;
    t->response->chain.back().emplace_back(std::move(name), line.substr(start));
    return n;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const size_t n = size * count;
    long status = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300 && t->sink && *t->sink) {
        if (!(*t->sink)(status, *t->response, data, n)) {
            t->aborted = true;
            return 0;  // CURLE_WRITE_ERROR ends the transfer
        }
        return n;
    }
    if (t->response->body.size() < kMaxErrorBody)
        t->response->body.append(data, std::min(n, kMaxErrorBody - t->response->body.size()));
    return n;
}

bool is_transient(CURLcode code) {
    switch (code) {
        case CURLE_COULDNT_CONNECT:
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_PARTIAL_FILE:
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
        case CURLE_SSL_CONNECT_ERROR:
            return true;
        default:
            return false;
    }
}

}  // namespace

std::optional<std::string> HttpResponse::final_header(const std::string& lower_name) const {
    if (chain.empty()) return std::nullopt;
    for (const auto& [name, value] : chain.back())
        if (name == lower_name) return value;
    return std::nullopt;
}

std::optional<std::string> HttpResponse::first_header(const std::string& lower_name) const {
    for (const HeaderList& headers : chain)
        for (const auto& [name, value] : headers)
            if (name == lower_name) return value;
    return std::nullopt;
}

std::string url_escape(const std::string& text) {
    std::string out;
    for (unsigned char c : text) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            static constexpr char kHex[] = "0123456789ABCDEF";
            out += '%';
            out += kHex[c >> 4];
            out += kHex[c & 15];
        }
    }
    return out;
}

HttpResponse http_request(const HttpRequest& request, const BodySink& sink, bool* aborted) {
    global_init();
    std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
    if (!curl) fail(ErrorCode::out_of_memory, "cannot start an HTTP transfer (curl_easy_init failed)");
    HttpResponse response;
    Transfer transfer{curl.get(), &response, &sink, false};

    curl_slist* raw_headers = nullptr;
    if (!request.bearer_token.empty())
        raw_headers = curl_slist_append(raw_headers, ("Authorization: Bearer " + request.bearer_token).c_str());
    std::unique_ptr<curl_slist, void (*)(curl_slist*)> headers(raw_headers, curl_slist_free_all);
    const std::string user_agent = std::string("libapr/") + version_string();
    const std::string range = std::to_string(request.range_from) + "-";

    CURL* c = curl.get();
    char error_text[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_text);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    // Authorization set as a header is dropped by curl when a redirect goes
    // to another host, so the token never reaches the CDN.
    curl_easy_setopt(c, CURLOPT_UNRESTRICTED_AUTH, 0L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(c, CURLOPT_USERAGENT, user_agent.c_str());
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    // A transfer that moves nothing for a minute is stalled: give up so the
    // retry loop can reconnect instead of hanging.
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &transfer);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &transfer);
    if (request.head) curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (request.range_from > 0) curl_easy_setopt(c, CURLOPT_RANGE, range.c_str());

    const CURLcode code = curl_easy_perform(c);
    if (aborted) *aborted = transfer.aborted;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
    if (char* url = nullptr; curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &url) == CURLE_OK && url)
        response.effective_url = url;
    if (code == CURLE_OK || transfer.aborted) return response;
    const std::string detail = error_text[0] ? std::string(error_text) : std::string(curl_easy_strerror(code));
    if (is_transient(code)) throw TransientError(fmt::format("{}: {}", request.url, detail));
    fail(ErrorCode::io, "{}: {}", request.url, detail);
}

}  // namespace apr::hub
