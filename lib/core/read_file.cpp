#include "core/read_file.hpp"

#include <fstream>
#include <sstream>

#include "core/fail.hpp"

namespace apr {

std::string read_whole_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(ErrorCode::io, "{}: cannot open for reading", path.string());
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) fail(ErrorCode::io, "{}: read failed", path.string());
    return std::move(text).str();
}

}  // namespace apr
