#include "hub/hub_errors.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

#include "core/fail.hpp"

namespace apr::hub {
namespace {

std::string server_says(const HttpResponse& response) {
    if (auto message = response.final_header("x-error-message")) return " (the Hub says: " + *message + ")";
    return {};
}

}  // namespace

void check_status(const HttpResponse& r, const HubUri& what, const HubOptions& options) {
    const long s = r.status;
    if ((s >= 200 && s < 400) || s == 416) return;
    const std::string uri = what.str();
    const std::string said = server_says(r);
    if (s == 401)
        fail(ErrorCode::io,
             "{}: 401 Unauthorized from {}{}: the repository is gated or private (or does not exist). {}",
             uri, options.endpoint, said,
             options.token.empty()
                 ? "No token was sent: set HF_TOKEN to an access token (https://huggingface.co/settings/tokens) "
                   "of an account that has accepted the model's terms"
                 : "The token sent (HF_TOKEN or the huggingface_hub token file) was refused: check it is valid");
    if (s == 403)
        fail(ErrorCode::io,
             "{}: 403 Forbidden from {}{}: the token (HF_TOKEN) has no access to this gated repository; accept the "
             "model's terms on its page with that account, or use a token that has read access",
             uri, options.endpoint, said);
    if (s == 404) {
        const std::string code = r.final_header("x-error-code").value_or("");
        if (code == "RepositoryNotFound" || what.file.empty())
            fail(ErrorCode::not_found, "{}: 404: repository '{}' not found on {}{}", uri, what.repo, options.endpoint,
                 said);
        if (code == "RevisionNotFound")
            fail(ErrorCode::not_found, "{}: 404: repository '{}' has no revision '{}'{}", uri, what.repo,
                 what.revision, said);
        fail(ErrorCode::not_found, "{}: 404: repository '{}' has no file '{}' at revision '{}'{}", uri, what.repo,
             what.file, what.revision, said);
    }
    if (s == 429 || s >= 500) throw TransientError(fmt::format("{}: HTTP {} from {}{}", uri, s, options.endpoint, said));
    fail(ErrorCode::io, "{}: unexpected HTTP status {} from {}{}", uri, s, r.effective_url, said);
}

void with_retries(const HubOptions& options, const std::string& what, const std::string& advice,
                  const std::function<void()>& attempt) {
    const int retries = options.max_retries.value_or(5);
    long delay_ms = options.retry_delay_ms.value_or(500);
    for (int i = 0;; ++i) {
        try {
            attempt();
            return;
        } catch (const TransientError& e) {
            if (i >= retries)
                fail(ErrorCode::io, "{}: gave up after {} attempt{}: {}{}", what, i + 1, i == 0 ? "" : "s", e.what(),
                     advice);
            std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
            delay_ms = std::min<long>(delay_ms * 2, 30000);
        }
    }
}

}  // namespace apr::hub
