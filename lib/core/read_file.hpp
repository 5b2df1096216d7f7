// Reads a whole (small) text file: configs, tokenizer files, templates.
#pragma once

#include <filesystem>
#include <string>

namespace apr {

// Throws apr::Error(io) naming the path when it cannot be opened or read.
std::string read_whole_file(const std::filesystem::path& path);

}  // namespace apr
