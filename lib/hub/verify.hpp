// What the Hub says a file's checksum is, and checking a file against it.
// LFS files (weights) carry their sha256 in X-Linked-Etag; plain git files
// carry the git blob id (sha1 of "blob SIZE\0" + content) in ETag.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace apr::hub {

struct ExpectedDigest {
    enum class Kind { sha256, git_sha1 } kind;
    std::string hex;  // lower case
};

// Strips W/ and quotes; 64 hex digits are a sha256, 40 a git blob id,
// anything else (a CDN's opaque tag) cannot be checked: nullopt.
std::optional<ExpectedDigest> parse_etag(const std::string& etag);

// The file's digest in the same form as `expected`, lower-case hex.
std::string file_digest(const std::filesystem::path& path, ExpectedDigest::Kind kind);

const char* digest_name(ExpectedDigest::Kind kind);

}  // namespace apr::hub
