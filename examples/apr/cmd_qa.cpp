// apr qa [--class ...] [--matrix] [--tracing-tests] [...]: the QA matrix
// (docs/qa.md); the same code as the qa_run program (examples/qa/).
#include <filesystem>

#include "commands.hpp"
#include "qa_command.hpp"

namespace apr::cli {

int cmd_qa(const Args& args) {
    std::error_code ec;
    const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
    return apr::qa::run_qa(args, "apr qa", ec ? std::filesystem::path("apr") : self);
}

}  // namespace apr::cli
