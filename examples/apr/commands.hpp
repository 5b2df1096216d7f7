// The apr subcommands. Each lives in its own cmd_<name>.cpp: it parses its
// flags, fills the library's parameters and calls the library. A command
// returns the process exit code; it throws apr::Error for library failures
// and cli::UsageError for command-line mistakes (main() prints both).
#pragma once

#include <string>
#include <vector>

namespace apr::cli {

using Args = std::vector<std::string>;

int cmd_inspect(const Args& args);
int cmd_run(const Args& args);
int cmd_chat(const Args& args);
int cmd_tokenize(const Args& args);
int cmd_detokenize(const Args& args);
int cmd_template(const Args& args);
int cmd_bench(const Args& args);
int cmd_import(const Args& args);
int cmd_export(const Args& args);
int cmd_quantize(const Args& args);
int cmd_serve(const Args& args);
int cmd_download(const Args& args);
int cmd_list(const Args& args);
int cmd_rm(const Args& args);
int cmd_qa(const Args& args);

// The model used when a command is given no MODEL: the small model vendored
// in the source tree (or installed beside the binary).
std::string default_model_path();

}  // namespace apr::cli
