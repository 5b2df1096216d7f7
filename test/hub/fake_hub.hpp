// Starts test/hub/fake_hub.py (a stand-in for the Hugging Face Hub on the
// loopback) for one test and stops it afterwards. The script also stops by
// itself after --lifetime seconds, so a crashed test leaves nothing behind.
#pragma once

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/fixtures.hpp"

namespace apr::test {

// Where meson says python3 and the script are; empty when python3 is missing.
inline std::string fake_hub_python() {
    const char* python = std::getenv("APR_PYTHON");
    return python ? python : "";
}

class FakeHub {
public:
    // `log` receives one JSON line per request.
    explicit FakeHub(const std::filesystem::path& log, bool with_hf_fixture = false) : log_(log) {
        const char* script = std::getenv("APR_FAKE_HUB");
        if (!script || fake_hub_python().empty()) throw std::runtime_error("APR_FAKE_HUB / APR_PYTHON not set");
        std::vector<std::string> args = {fake_hub_python(), script, "--gguf",
                                         (vendored_models_dir() / "nano" / "nano-q4_k_m.gguf").string(),
                                         "--log", log.string(), "--lifetime", "120"};
        if (with_hf_fixture) {
            args.push_back("--hf-dir");
            args.push_back((fixtures_dir() / "nano").string());
        }
        int out[2];
        if (::pipe(out) != 0) throw std::runtime_error("pipe failed");
        pid_ = ::fork();
        if (pid_ < 0) throw std::runtime_error("fork failed");
        if (pid_ == 0) {
            ::dup2(out[1], 1);
            ::close(out[0]);
            ::close(out[1]);
            std::vector<char*> argv;
            for (auto& a : args) argv.push_back(a.data());
            argv.push_back(nullptr);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        ::close(out[1]);
        // The first line is the port; give the interpreter 30 s (a loaded machine).
        std::string line;
        pollfd pfd{out[0], POLLIN, 0};
        while (line.find('\n') == std::string::npos && ::poll(&pfd, 1, 30000) > 0) {
            char buf[64];
            const ssize_t n = ::read(out[0], buf, sizeof(buf));
            if (n <= 0) break;
            line.append(buf, static_cast<size_t>(n));
        }
        ::close(out[0]);
        port_ = std::atoi(line.c_str());
        if (port_ <= 0) {
            stop();
            throw std::runtime_error("fake_hub.py did not report its port");
        }
    }
    ~FakeHub() { stop(); }
    FakeHub(const FakeHub&) = delete;
    FakeHub& operator=(const FakeHub&) = delete;

    std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

    // The request log so far, one JSON object per line.
    std::vector<std::string> requests() const {
        std::vector<std::string> lines;
        std::ifstream in(log_);
        for (std::string line; std::getline(in, line);) lines.push_back(line);
        return lines;
    }
    // How many logged requests contain every one of `parts`.
    size_t count(const std::vector<std::string>& parts) const {
        size_t n = 0;
        for (const std::string& line : requests()) {
            bool all = true;
            for (const auto& p : parts) all = all && line.find(p) != std::string::npos;
            n += all;
        }
        return n;
    }

    void stop() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGTERM);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }

private:
    std::filesystem::path log_;
    pid_t pid_ = -1;
    int port_ = 0;
};

// The bytes of the fake hub's data.bin (see pattern() in fake_hub.py).
inline std::string fake_hub_pattern(size_t n) {
    std::string out(n, '\0');
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<char>((i * 31 + (i >> 8)) & 0xff);
    return out;
}

}  // namespace apr::test
