#include "hub/cache_layout.hpp"

namespace apr::hub {
namespace {

std::string encode_slashes(const std::string& text) {
    std::string out;
    for (char c : text) {
        if (c == '/') out += "%2F";
        else if (c == '%') out += "%25";
        else out += c;
    }
    return out;
}

}  // namespace

std::string CacheLayout::encode_revision(const std::string& revision) { return encode_slashes(revision); }

std::string CacheLayout::decode_revision(const std::string& folder_name) {
    std::string out;
    for (size_t i = 0; i < folder_name.size(); ++i) {
        if (folder_name.compare(i, 3, "%2F") == 0) {
            out += '/';
            i += 2;
        } else if (folder_name.compare(i, 3, "%25") == 0) {
            out += '%';
            i += 2;
        } else {
            out += folder_name[i];
        }
    }
    return out;
}

std::filesystem::path CacheLayout::repo_dir(const std::string& repo) const { return root_ / repo; }

std::filesystem::path CacheLayout::revision_dir(const std::string& repo, const std::string& revision) const {
    return repo_dir(repo) / encode_revision(revision);
}

std::filesystem::path CacheLayout::file_path(const HubUri& uri) const {
    return revision_dir(uri.repo, uri.revision) / uri.file;
}

std::filesystem::path CacheLayout::incomplete_dir(const HubUri& uri) const {
    return revision_dir(uri.repo, uri.revision) / ".incomplete";
}

std::filesystem::path CacheLayout::partial_path(const HubUri& uri) const {
    return incomplete_dir(uri) / (encode_slashes(uri.file) + ".partial");
}

std::filesystem::path CacheLayout::etag_path(const HubUri& uri) const {
    return incomplete_dir(uri) / (encode_slashes(uri.file) + ".etag");
}

std::filesystem::path CacheLayout::lock_path(const HubUri& uri) const {
    return incomplete_dir(uri) / (encode_slashes(uri.file) + ".lock");
}

std::filesystem::path CacheLayout::complete_marker(const HubUri& uri) const {
    return revision_dir(uri.repo, uri.revision) / ".apr-complete";
}

}  // namespace apr::hub
