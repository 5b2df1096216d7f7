// What a test needs besides the code under test (the shared fixtures, the
// built `apr` program) and what happens when it is missing: outside CI the
// case is reported as skipped, loudly and by name ("ok N - case # SKIP why");
// under CI=true the case fails, because CI must never run blind (a moved
// fixture folder or a missing binary would otherwise turn into a green run).
#pragma once

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <string_view>

namespace apr::test {

// CI=true (and any other non-empty value but "0"/"false") marks a CI run.
inline bool in_ci() {
    const char* ci = std::getenv("CI");
    if (ci == nullptr || *ci == '\0') return false;
    const std::string_view v(ci);
    return v != "0" && v != "false" && v != "FALSE" && v != "False";
}

// The reason the running test case skipped itself, read (and cleared) by the
// TAP reporter when the case ends. One per process: cases run one at a time.
inline std::string& current_skip_reason() {
    static std::string reason;
    return reason;
}

}  // namespace apr::test

// Skips the rest of the current test case with `why` (a streamable
// expression), or fails it under CI. Use at the top of a case:
//   if (!exists(path)) APR_SKIP_CASE("needs " << path);
#define APR_SKIP_CASE(why)                                                                              \
    do {                                                                                                \
        std::ostringstream apr_skip_stream_;                                                            \
        apr_skip_stream_ << why;                                                                        \
        if (::apr::test::in_ci()) FAIL(apr_skip_stream_.str() << " (CI=true: a missing prerequisite fails)"); \
        ::apr::test::current_skip_reason() = apr_skip_stream_.str();                                    \
        WARN("SKIPPED: " << apr_skip_stream_.str());                                                    \
        return;                                                                                         \
    } while (0)

namespace apr::test {

// The built `apr` program: $APR_CLI (set by the meson test environment), else
// examples/apr beside this test program's build folder. Empty when missing.
inline std::filesystem::path apr_cli_path() {
    if (const char* env = std::getenv("APR_CLI"); env && *env && std::filesystem::exists(env)) return env;
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        const auto beside = self.parent_path().parent_path() / "examples" / "apr";
        if (std::filesystem::exists(beside)) return beside;
    }
    return {};
}

}  // namespace apr::test

// Declares `name` as the apr program's path, or skips (fails under CI).
#define APR_REQUIRE_CLI(name)                                                          \
    const std::filesystem::path name = ::apr::test::apr_cli_path();                    \
    if (name.empty()) APR_SKIP_CASE("the apr program is not built (set APR_CLI)")
