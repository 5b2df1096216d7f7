// list_cache() and remove_from_cache(): walking CACHE/models/OWNER/REPO/REV.
#include <algorithm>

#include "apr/hub.hpp"
#include "core/fail.hpp"
#include "formats/inspect_json.hpp"
#include "hub/cache_layout.hpp"

namespace apr::hub {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> subfolders(const fs::path& dir) {
    std::vector<fs::path> out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec))
        if (entry.is_directory(ec) && !entry.path().filename().string().starts_with(".")) out.push_back(entry.path());
    std::sort(out.begin(), out.end());
    return out;
}

CachedModel describe_revision(const std::string& repo, const fs::path& dir) {
    CachedModel m;
    m.repo = repo;
    m.revision = CacheLayout::decode_revision(dir.filename().string());
    m.path = dir;
    std::error_code ec;
    m.complete_repository = fs::exists(dir / ".apr-complete", ec);
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
        const fs::path& p = it->path();
        const bool hidden = p.filename().string().starts_with(".");
        if (it->is_directory(ec)) {
            if (hidden && p.filename() == ".incomplete") {
                for (const auto& part : fs::directory_iterator(p, ec))
                    if (part.path().extension() == ".partial") m.partial_bytes += part.file_size(ec);
            }
            if (hidden) it.disable_recursion_pending();
            continue;
        }
        if (hidden || !it->is_regular_file(ec)) continue;
        m.bytes += it->file_size(ec);
        m.files.push_back(fs::relative(p, dir, ec).generic_string());
    }
    std::sort(m.files.begin(), m.files.end());
    return m;
}

uint64_t tree_bytes(const fs::path& path) {
    std::error_code ec;
    if (fs::is_regular_file(path, ec)) return fs::file_size(path, ec);
    uint64_t total = 0;
    for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec))
        if (it->is_regular_file(ec)) total += it->file_size(ec);
    return total;
}

uint64_t remove_tree(const fs::path& path) {
    const uint64_t bytes = tree_bytes(path);
    std::error_code ec;
    fs::remove_all(path, ec);
    if (ec) fail(ErrorCode::io, "{}: cannot remove: {}", path.string(), ec.message());
    return bytes;
}

void remove_if_empty(const fs::path& dir) {
    std::error_code ec;
    if (fs::is_directory(dir, ec) && fs::is_empty(dir, ec)) fs::remove(dir, ec);
}

}  // namespace

std::vector<CachedModel> list_cache(const HubOptions& given) {
    const HubOptions options = settings(given);
    const CacheLayout layout(options.cache_dir);
    std::vector<CachedModel> out;
    for (const fs::path& owner : subfolders(layout.root()))
        for (const fs::path& name : subfolders(owner))
            for (const fs::path& revision : subfolders(name)) {
                CachedModel m = describe_revision(owner.filename().string() + "/" + name.filename().string(), revision);
                if (!m.files.empty() || m.partial_bytes > 0) out.push_back(std::move(m));  // not a failed start
            }
    return out;
}

std::string list_cache_json(const HubOptions& options) {
    using formats::json_quote;
    std::string out = "[";
    bool first = true;
    for (const CachedModel& m : list_cache(options)) {
        out += first ? "{" : ",{";
        first = false;
        out += "\"uri\":" + json_quote(HubUri{m.repo, m.revision, "", false}.str());
        out += ",\"repo\":" + json_quote(m.repo) + ",\"revision\":" + json_quote(m.revision);
        out += ",\"path\":" + json_quote(m.path.string());
        out += fmt::format(",\"bytes\":{},\"partial_bytes\":{},\"complete_repository\":{},\"files\":[", m.bytes,
                           m.partial_bytes, m.complete_repository ? "true" : "false");
        for (size_t i = 0; i < m.files.size(); ++i) out += (i ? "," : "") + json_quote(m.files[i]);
        out += "]}";
    }
    return out + "]";
}

uint64_t remove_from_cache(std::string_view text, const HubOptions& given) {
    const HubOptions options = settings(given);
    const HubUri uri = parse_uri(text);
    const bool revision_named = uri.revision_given || !options.revision.empty();
    const CacheLayout layout(options.cache_dir);
    std::vector<fs::path> revisions;
    if (revision_named) {
        const std::string revision = options.revision.empty() ? uri.revision : options.revision;
        revisions.push_back(layout.revision_dir(uri.repo, revision));
    } else {
        revisions = subfolders(layout.repo_dir(uri.repo));
    }
    uint64_t freed = 0;
    bool found = false;
    std::error_code ec;
    for (const fs::path& dir : revisions) {
        if (!fs::is_directory(dir, ec)) continue;
        if (uri.file.empty()) {
            found = true;
            freed += remove_tree(dir);
            continue;
        }
        HubUri one = uri;
        one.revision = CacheLayout::decode_revision(dir.filename().string());
        for (const fs::path& p : {layout.file_path(one), layout.partial_path(one), layout.etag_path(one)}) {
            if (!fs::exists(p, ec)) continue;
            found = true;
            freed += remove_tree(p);
        }
        fs::remove(layout.complete_marker(one), ec);  // the repository is no longer whole
    }
    if (!found) fail(ErrorCode::not_found, "{}: nothing of it is in the cache ({})", uri.str(), layout.root().string());
    remove_if_empty(layout.repo_dir(uri.repo));
    remove_if_empty(layout.repo_dir(uri.repo).parent_path());
    return freed;
}

}  // namespace apr::hub
