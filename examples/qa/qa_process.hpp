// Child processes of the QA run: the real apr run / apr chat / apr serve
// programs and the reference engines (llama.cpp), started without a shell,
// with stdin from a text, stdout and stderr captured to files, a deadline,
// and the child's peak resident memory (wait4's ru_maxrss).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace apr::qa {

struct ProcessResult {
    int exit_code = -1;       // -1: killed (signal or deadline)
    bool timed_out = false;
    std::string out, err;
    double peak_rss_mb = 0;   // the child's peak resident set
    double seconds = 0;
    std::string describe() const;  // "exit 1, stderr: ..." for failure reasons
};

// Runs argv[0] (a path) with `env` added ("NAME=value"), `input` on stdin.
// `scratch`: a folder for the capture files.
ProcessResult run_process(const std::vector<std::string>& argv, const std::string& input,
                          const std::vector<std::string>& env, const std::filesystem::path& scratch,
                          std::chrono::seconds deadline = std::chrono::seconds(120));

// `apr serve` on a free loopback port (--port 0): started, its port read
// from its log, /health waited for (60 s); stopped with SIGTERM.
class ServeChild {
public:
    // Throws std::runtime_error with the server's log when it does not come up.
    ServeChild(const std::filesystem::path& apr, const std::vector<std::string>& args,
               const std::vector<std::string>& env, const std::filesystem::path& log_file);
    ~ServeChild();
    ServeChild(const ServeChild&) = delete;
    ServeChild& operator=(const ServeChild&) = delete;

    int port() const { return port_; }
    std::string log() const;
    // Waits up to `timeout` for the log to contain `text`; returns the log.
    std::string wait_for_log(const std::string& text, std::chrono::milliseconds timeout) const;
    int stop();  // SIGTERM, then the exit status (-1 when it had to be killed)

private:
    pid_t pid_ = -1;
    int port_ = 0;
    std::filesystem::path log_file_;
};

// The first existing executable named `name` on $PATH (empty when none).
std::filesystem::path find_on_path(const std::string& name);

}  // namespace apr::qa
