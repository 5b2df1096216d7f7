// qa_run: the QA matrix as one program (the same code as `apr qa`;
// docs/qa.md). Exit status: 0 nothing failed, 1 a cell failed, 2 bad flags.
#include <fmt/core.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "apr/error.hpp"
#include "flags.hpp"
#include "qa_command.hpp"

int main(int argc, char** argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    std::error_code ec;
    std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) self = argv[0];
    try {
        return apr::qa::run_qa(args, "qa_run", self);
    } catch (const apr::cli::HelpRequested& help) {
        fmt::print("{}", help.text);
        return 0;
    } catch (const apr::cli::UsageError& e) {
        fmt::print(stderr, "qa_run: {}\n(see `qa_run --help`)\n", e.what());
        return 2;
    } catch (const std::exception& e) {
        fmt::print(stderr, "qa_run: error: {}\n", e.what());
        return 1;
    }
}
