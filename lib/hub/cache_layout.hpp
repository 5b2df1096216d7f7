// Where things live in the cache:
//
//   CACHE/models/OWNER/REPO/REVISION/           completed files, repo layout
//   CACHE/models/OWNER/REPO/REVISION/.apr-complete   a whole-repo download finished
//   CACHE/models/OWNER/REPO/REVISION/.incomplete/F.partial, F.etag, F.lock
//
// A revision containing '/' (refs/pr/1) is stored percent-encoded, and so is a
// nested file's name inside .incomplete, so every partial sits in one folder.
// Only verified files are ever renamed into the revision folder, so a file's
// presence there means it is complete.
#pragma once

#include <filesystem>
#include <string>

#include "apr/hub.hpp"

namespace apr::hub {

class CacheLayout {
public:
    explicit CacheLayout(std::filesystem::path cache_dir) : root_(std::move(cache_dir) / "models") {}

    const std::filesystem::path& root() const { return root_; }
    std::filesystem::path repo_dir(const std::string& repo) const;
    std::filesystem::path revision_dir(const std::string& repo, const std::string& revision) const;
    std::filesystem::path file_path(const HubUri& uri) const;
    std::filesystem::path incomplete_dir(const HubUri& uri) const;
    std::filesystem::path partial_path(const HubUri& uri) const;   // .partial
    std::filesystem::path etag_path(const HubUri& uri) const;      // what the partial is a part of
    std::filesystem::path lock_path(const HubUri& uri) const;
    std::filesystem::path complete_marker(const HubUri& uri) const;

    static std::string encode_revision(const std::string& revision);
    static std::string decode_revision(const std::string& folder_name);

private:
    std::filesystem::path root_;
};

}  // namespace apr::hub
