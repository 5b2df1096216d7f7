// SHA-256 of a file (OpenSSL's libcrypto), as lower-case hex: the provenance
// an APR file records about its source.
#pragma once

#include <filesystem>
#include <string>

namespace apr {

// Throws apr::Error(io) naming the path when it cannot be read.
std::string sha256_file_hex(const std::filesystem::path& path);

}  // namespace apr
