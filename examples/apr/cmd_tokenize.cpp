// apr tokenize / detokenize: lands with the tokenizer issue.
#include "apr/error.hpp"
#include "commands.hpp"

namespace apr::cli {

int cmd_tokenize(const Args&) { throw Error(ErrorCode::unsupported, "tokenize is not implemented yet"); }
int cmd_detokenize(const Args&) { throw Error(ErrorCode::unsupported, "detokenize is not implemented yet"); }

}  // namespace apr::cli
