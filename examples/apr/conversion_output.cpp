#include "conversion_output.hpp"

#include <fmt/core.h>

namespace apr::cli {

std::filesystem::path default_output(const std::filesystem::path& source, const std::string& extension) {
    std::filesystem::path name = source.filename();
    if (name.empty()) name = source.parent_path().filename();  // "folder/"
    if (name.empty() || name == "." || name == "..") name = "model";
    // A folder's name is kept whole ("nano" -> "nano.apr"); a file loses its extension.
    std::error_code ec;
    if (!std::filesystem::is_directory(source, ec)) name.replace_extension();
    return name.string() + extension;
}

void print_report(const ConversionReport& report) {
    std::string types;
    for (const auto& [type, n] : report.tensors_per_type)
        types += fmt::format("{}{} {}", types.empty() ? "" : ", ", dtype_name(type), n);
    fmt::print("wrote {}: {} tensors ({}), {:.1f} MiB\n", report.output.string(), report.tensors, types,
               static_cast<double>(report.file_bytes) / (1024.0 * 1024.0));
}

}  // namespace apr::cli
