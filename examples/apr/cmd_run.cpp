// apr run: one completion. Inference lands with the CPU-inference issue.
#include "apr/error.hpp"
#include "commands.hpp"

namespace apr::cli {

int cmd_run(const Args&) {
    throw Error(ErrorCode::unsupported, "inference is not implemented yet (see the CPU inference issue)");
}

}  // namespace apr::cli
