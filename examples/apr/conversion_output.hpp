// What import, export and quantize share: the default output name and the
// summary printed when a conversion is done.
#pragma once

#include <filesystem>
#include <string>

#include "apr/convert.hpp"

namespace apr::cli {

// SOURCE's file or folder name with `extension` (".apr"), in the current folder.
std::filesystem::path default_output(const std::filesystem::path& source, const std::string& extension);

// "wrote model.apr: 51 tensors (F32 21, Q4_K 25, Q6_K 5), 6.9 MiB"
void print_report(const ConversionReport& report);

}  // namespace apr::cli
