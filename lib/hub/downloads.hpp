// The two kinds of download: one file, and a repository's model files.
// Both take fully resolved options (settings()).
#pragma once

#include <filesystem>

#include "apr/hub.hpp"

namespace apr::hub {

// uri.file must be set. Returns the cached file's path.
std::filesystem::path download_file(const HubUri& uri, const HubOptions& options);

// uri.file must be empty. Returns the revision folder once every config,
// tokenizer and weight file is in it.
std::filesystem::path download_repository(const HubUri& uri, const HubOptions& options);

}  // namespace apr::hub
