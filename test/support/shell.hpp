// Runs a shell command for a test and returns what it printed on stdout with
// its wait status (as pclose gives it: WEXITSTATUS/WIFEXITED apply). Tests
// build the command (environment, redirections) themselves.
#pragma once

#include <catch2/catch.hpp>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace apr::test {

struct ShellResult {
    std::string out;
    int status = -1;
};

inline ShellResult run_shell(const std::string& command) {
    FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    ShellResult r;
    std::array<char, 4096> buf;
    size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
    r.status = ::pclose(pipe);
    return r;
}

}  // namespace apr::test
