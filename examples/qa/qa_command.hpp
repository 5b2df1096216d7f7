// `qa_run` and `apr qa`: one entry point shared by both programs. Parses the
// options, converts the canonical sources into a work folder, runs the
// selected matrix and tracing cells (and the parity comparison with
// --with-ollama), prints the table and the totals, writes --json, and
// returns the exit status: 0 when nothing failed, 1 when something did.
// Throws cli::UsageError / cli::HelpRequested for the caller to print.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace apr::qa {

int run_qa(const std::vector<std::string>& args, const std::string& program, const std::filesystem::path& self);

}  // namespace apr::qa
