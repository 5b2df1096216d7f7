// HubOptions' defaults from the environment, named like huggingface_hub's
// (HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE, the token file it writes) so a
// machine set up for one works for the other; APR_CACHE is libapr's own.
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "apr/hub.hpp"
#include "core/fail.hpp"

namespace apr::hub {
namespace {

namespace fs = std::filesystem;

std::string env(const char* name) {
    const char* value = std::getenv(name);
    return value ? std::string(value) : std::string();
}

std::string trim(std::string text) {
    const auto not_space = [](unsigned char c) { return !std::isspace(c); };
    text.erase(text.begin(), std::find_if(text.begin(), text.end(), not_space));
    text.erase(std::find_if(text.rbegin(), text.rend(), not_space).base(), text.end());
    return text;
}

bool truthy(std::string value) {
    std::transform(value.begin(), value.end(), value.begin(), [](unsigned char c) { return std::tolower(c); });
    return value == "1" || value == "true" || value == "yes" || value == "on";
}

fs::path home_dir() {
    if (std::string home = env("HOME"); !home.empty()) return home;
    if (const passwd* pw = getpwuid(getuid()); pw && pw->pw_dir) return pw->pw_dir;
    return {};
}

fs::path xdg_cache_home() {
    if (std::string xdg = env("XDG_CACHE_HOME"); !xdg.empty()) return xdg;
    const fs::path home = home_dir();
    return home.empty() ? fs::path() : home / ".cache";
}

// huggingface_hub's token file: HF_TOKEN_PATH, else $HF_HOME/token, else
// ~/.cache/huggingface/token (where `huggingface-cli login` writes it).
std::string token_from_file() {
    fs::path path;
    if (std::string p = env("HF_TOKEN_PATH"); !p.empty()) path = p;
    else if (std::string h = env("HF_HOME"); !h.empty()) path = fs::path(h) / "token";
    else if (fs::path cache = xdg_cache_home(); !cache.empty()) path = cache / "huggingface" / "token";
    if (path.empty()) return {};
    std::ifstream in(path);
    if (!in) return {};
    std::ostringstream text;
    text << in.rdbuf();
    return trim(text.str());
}

int int_env(const char* name, int fallback, int lo, int hi) {
    const std::string text = env(name);
    if (text.empty()) return fallback;
    char* end = nullptr;
    const long value = std::strtol(text.c_str(), &end, 10);
    if (*end != '\0' || value < lo || value > hi)
        fail(ErrorCode::invalid_argument, "{}={}: expected a whole number from {} to {}", name, text, lo, hi);
    return static_cast<int>(value);
}

}  // namespace

HubOptions settings(const HubOptions& options) {
    HubOptions out = options;
    if (out.endpoint.empty()) out.endpoint = env("HF_ENDPOINT");
    if (out.endpoint.empty()) out.endpoint = "https://huggingface.co";
    while (out.endpoint.size() > 1 && out.endpoint.back() == '/') out.endpoint.pop_back();
    if (!out.endpoint.starts_with("http://") && !out.endpoint.starts_with("https://"))
        fail(ErrorCode::invalid_argument, "Hub endpoint '{}' (HF_ENDPOINT) is not an http:// or https:// URL",
             out.endpoint);
    if (out.token.empty()) out.token = trim(env("HF_TOKEN"));
    if (out.token.empty()) out.token = trim(env("HUGGING_FACE_HUB_TOKEN"));  // the older name
    if (out.token.empty()) out.token = token_from_file();
    if (out.cache_dir.empty()) {
        if (std::string c = env("APR_CACHE"); !c.empty()) {
            out.cache_dir = c;
        } else {
            const fs::path cache = xdg_cache_home();
            if (cache.empty())
                fail(ErrorCode::invalid_argument, "no folder for the model cache: set APR_CACHE (or HOME)");
            out.cache_dir = cache / "apr";
        }
    }
    if (!out.offline) out.offline = truthy(env("HF_HUB_OFFLINE"));
    if (!out.max_retries) out.max_retries = int_env("APR_HUB_RETRIES", 5, 0, 100);
    if (!out.retry_delay_ms) out.retry_delay_ms = int_env("APR_HUB_RETRY_DELAY_MS", 500, 0, 60000);
    if (*out.max_retries < 0) fail(ErrorCode::invalid_argument, "max_retries must be >= 0");
    if (*out.retry_delay_ms < 0) fail(ErrorCode::invalid_argument, "retry_delay_ms must be >= 0");
    return out;
}

}  // namespace apr::hub
