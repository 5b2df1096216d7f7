// Where tests find their data: the vendored models in the source tree
// (always present) and the shared fixtures beside it (may be missing; test
// programs that need them are built with APR_TEST_NEEDS_FIXTURES).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace apr::test {

inline std::filesystem::path fixtures_dir() {
    if (const char* env = std::getenv("APR_FIXTURES_DIR"); env && *env) return env;
    return APR_TEST_FIXTURES_DIR;
}

inline std::filesystem::path vendored_models_dir() { return APR_TEST_MODELS_DIR; }

inline bool have_fixtures() { return std::filesystem::exists(fixtures_dir() / "nano" / "config.json"); }

inline std::string read_text_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

}  // namespace apr::test
