// The options of `qa_run` / `apr qa`, declared once (examples/apr/flags.hpp)
// and validated before anything runs: a bad flag is a usage error naming it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "flags.hpp"

namespace apr::qa {

// The tracing modes a tracing cell exercises (--trace-level picks some).
inline const std::vector<std::string>& trace_mode_names() {
    static const std::vector<std::string> names{"none", "trace", "layer", "profile", "trace-output", "x-trace-level"};
    return names;
}

struct QaOptions {
    std::string model;                      // class A's canonical GGUF (default: the bundled nano model)
    std::optional<std::string> hf_model;    // class B's SafeTensors folder (default: ../shared/fixtures/nano when present)
    bool hf_model_given = false;            // --hf-model on the command line (missing then = an error, not a skip)
    bool quantized = true, full_precision = true;  // --class
    bool matrix = false, tracing = false;   // --matrix, --tracing-tests (neither: --matrix)
    std::set<std::string> backends{"cpu", "cuda"};            // --backend
    std::set<std::string> formats{"gguf", "apr", "safetensors"};  // --format
    std::set<std::string> trace_modes;      // --trace-level (empty: all)
    std::optional<std::string> json_file;   // --json FILE
    std::filesystem::path work_dir;         // --work-dir (default: a fresh temporary folder, removed afterwards)
    bool keep_work = false;
    std::filesystem::path apr_cli;          // --apr: the apr program the chat/serve/run cells start
    int64_t threads = 0;
    int64_t max_tokens = 32;
    bool with_ollama = false;
    int64_t parity_reps = 3;

    bool wants_trace_mode(const std::string& mode) const { return trace_modes.empty() || trace_modes.count(mode) > 0; }
    bool wants(const std::string& backend, const std::string& format) const {
        return backends.count(backend) > 0 && formats.count(format) > 0;
    }
};

// Parses the arguments (without the program / subcommand name). Throws
// cli::UsageError for a bad flag or value, cli::HelpRequested for --help.
// `program`: "qa_run" or "apr qa" (for the help text); `self`: this
// program's path (to find the apr program beside it).
QaOptions parse_qa_options(const std::vector<std::string>& args, const std::string& program,
                           const std::filesystem::path& self);

}  // namespace apr::qa
