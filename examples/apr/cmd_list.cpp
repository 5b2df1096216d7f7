// apr list [--json]: the models in the download cache, with their sizes.
#include <fmt/core.h>

#include "apr/hub.hpp"
#include "commands.hpp"
#include "flags.hpp"

namespace apr::cli {
namespace {

std::string uri_of(const hub::CachedModel& m) {
    hub::HubUri uri{m.repo, m.revision, "", false};
    return uri.str();
}

std::string size_text(double bytes) {
    static constexpr const char* kUnits[] = {"B", "kB", "MB", "GB", "TB"};
    int unit = 0;
    while (bytes >= 1000 && unit < 4) {
        bytes /= 1000;
        ++unit;
    }
    return unit == 0 ? fmt::format("{:.0f} B", bytes) : fmt::format("{:.1f} {}", bytes, kUnits[unit]);
}

}  // namespace

int cmd_list(const Args& args) {
    Flags flags("apr list", "[--json]",
                "List the models in the download cache (APR_CACHE, else ~/.cache/apr) with their sizes. A\n"
                "repository downloaded whole is marked 'repository'; otherwise the cached files are named.");
    bool json = false;
    flags.add("--json", &json, "print one JSON array");
    if (!flags.parse(args).empty()) throw UsageError("apr list takes no arguments");
    const hub::HubOptions options = hub::settings();
    const std::vector<hub::CachedModel> models = hub::list_cache(options);
    if (json) {
        fmt::print("{}\n", hub::list_cache_json(options));
        return 0;
    }
    if (models.empty()) {
        fmt::print("no models in the cache ({})\n", (options.cache_dir / "models").string());
        return 0;
    }
    uint64_t total = 0;
    fmt::print("{:<56} {:>9}  {}\n", "MODEL", "SIZE", "CONTENT");
    for (const hub::CachedModel& m : models) {
        std::string content;
        if (m.complete_repository) {
            content = fmt::format("repository, {} files", m.files.size());
        } else {
            for (size_t f = 0; f < m.files.size() && f < 3; ++f) content += (f ? ", " : "") + m.files[f];
            if (m.files.size() > 3) content += fmt::format(" and {} more", m.files.size() - 3);
        }
        if (m.partial_bytes > 0)
            content += fmt::format("{}{} partly downloaded", content.empty() ? "" : "; ", size_text(m.partial_bytes));
        fmt::print("{:<56} {:>9}  {}\n", uri_of(m), size_text(static_cast<double>(m.bytes)), content);
        total += m.bytes + m.partial_bytes;
    }
    fmt::print("{} in {}\n", size_text(static_cast<double>(total)), (options.cache_dir / "models").string());
    return 0;
}

}  // namespace apr::cli
