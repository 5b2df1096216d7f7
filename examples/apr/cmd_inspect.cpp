// apr inspect: lands with the model-file readers.
#include "apr/error.hpp"
#include "commands.hpp"

namespace apr::cli {

int cmd_inspect(const Args&) { throw Error(ErrorCode::unsupported, "inspect is not implemented yet"); }

}  // namespace apr::cli
