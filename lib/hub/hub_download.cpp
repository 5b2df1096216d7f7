// The public entry points that fetch: download(), cache_path() and
// resolve_source(), the hook every model reader goes through.
#include "apr/hub.hpp"
#include "hub/cache_layout.hpp"
#include "hub/downloads.hpp"

namespace apr::hub {
namespace {

HubUri parse_with(std::string_view text, const HubOptions& options) {
    HubUri uri = parse_uri(text);
    if (!options.revision.empty()) uri.revision = options.revision;
    return uri;
}

}  // namespace

std::filesystem::path download(std::string_view text, const HubOptions& given) {
    const HubOptions options = settings(given);
    const HubUri uri = parse_with(text, options);
    return uri.file.empty() ? download_repository(uri, options) : download_file(uri, options);
}

std::filesystem::path cache_path(std::string_view text, const HubOptions& given) {
    const HubOptions options = settings(given);
    const HubUri uri = parse_with(text, options);
    const CacheLayout layout(options.cache_dir);
    return uri.file.empty() ? layout.revision_dir(uri.repo, uri.revision) : layout.file_path(uri);
}

std::filesystem::path resolve_source(const std::filesystem::path& source) {
    if (!is_hub_uri(source.native())) return source;
    return download(source.native());
}

}  // namespace apr::hub
