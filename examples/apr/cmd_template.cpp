// apr template: lands with the chat-template issue.
#include "apr/error.hpp"
#include "commands.hpp"

namespace apr::cli {

int cmd_template(const Args&) { throw Error(ErrorCode::unsupported, "template is not implemented yet"); }

}  // namespace apr::cli
