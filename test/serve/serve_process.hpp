// Runs `apr serve` (the binary in $APR_CLI) on a free loopback port for a
// test: starts it with --port 0, reads the port from its log, waits for
// /health, and stops it with SIGTERM (checking it exits 0).
#pragma once

#include <httplib.h>
#include <fcntl.h>
#include <signal.h>
#include <simdjson.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace apr::test {

class ServeProcess {
public:
    explicit ServeProcess(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
        const char* cli = std::getenv("APR_CLI");
        if (cli == nullptr) throw std::runtime_error("APR_CLI is not set (meson sets it)");
        log_path_ = std::filesystem::temp_directory_path() /
                    ("apr-serve-test-" + std::to_string(getpid()) + "-" + std::to_string(counter()++) + ".log");
        std::vector<std::string> argv = {cli, "serve", "--port", "0", "--threads", "2"};
        // On the CPU unless a test asks for a device: the serve tests check
        // CPU behaviour (threads, timings), and `apr serve` would take a GPU
        // where there is one.
        argv.insert(argv.end(), args.begin(), args.end());
        if (std::find(args.begin(), args.end(), "--device") == args.end()) argv.insert(argv.end(), {"--device", "cpu"});
        pid_ = fork();
        if (pid_ == 0) {
            const int fd = ::open(log_path_.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0600);
            dup2(fd, 2);
            for (const std::string& e : env) putenv(const_cast<char*>(e.c_str()));
            std::vector<char*> cargv;
            for (auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
            cargv.push_back(nullptr);
            execv(cli, cargv.data());
            _exit(127);
        }
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        const std::regex listening("listening on http://127\\.0\\.0\\.1:([0-9]+)");
        while (std::chrono::steady_clock::now() < deadline) {
            std::smatch m;
            const std::string text = log();
            if (port_ == 0 && std::regex_search(text, m, listening)) port_ = std::stoi(m[1]);
            if (port_ != 0) {
                httplib::Client c("127.0.0.1", port_);
                auto r = c.Get("/health");
                if (r && r->status == 200) return;
            }
            int status = 0;
            if (waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                throw std::runtime_error("apr serve exited early:\n" + text);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        throw std::runtime_error("apr serve did not become ready:\n" + log());
    }
    ~ServeProcess() {
        if (pid_ > 0) stop();
        std::error_code ec;
        std::filesystem::remove(log_path_, ec);
    }
    ServeProcess(const ServeProcess&) = delete;
    ServeProcess& operator=(const ServeProcess&) = delete;

    int port() const { return port_; }
    pid_t pid() const { return pid_; }
    httplib::Client client(int timeout_s = 60) const {
        httplib::Client c("127.0.0.1", port_);
        c.set_read_timeout(timeout_s, 0);
        return c;
    }
    std::string log() const {
        std::ifstream in(log_path_);
        std::ostringstream s;
        s << in.rdbuf();
        return s.str();
    }
    // SIGTERM; returns the exit status (-1 when killed or not exited within `timeout`), and the ms it took.
    int stop(std::chrono::milliseconds timeout = std::chrono::milliseconds(8000), double* took_ms = nullptr) {
        if (pid_ <= 0) return -1;
        const auto start = std::chrono::steady_clock::now();
        kill(pid_, SIGTERM);
        int status = 0;
        while (std::chrono::steady_clock::now() - start < timeout) {
            if (waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                if (took_ms) *took_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
                return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        pid_ = -1;
        return -1;
    }

private:
    static int& counter() {
        static int n = 0;
        return n;
    }
    pid_t pid_ = -1;
    int port_ = 0;
    std::filesystem::path log_path_;
};

// The JSON of a response body (the parser must outlive the element).
struct JsonDoc {
    explicit JsonDoc(const std::string& text) : padded(text) { root = parser.parse(padded); }
    simdjson::padded_string padded;
    simdjson::dom::parser parser;
    simdjson::dom::element root;
};

// Lines "data: ..." of a server-sent event stream, without the prefix.
inline std::vector<std::string> sse_data(const std::string& body) {
    std::vector<std::string> out;
    std::istringstream in(body);
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("data: ", 0) == 0) out.push_back(line.substr(6));
    return out;
}

inline std::vector<std::string> ndjson_lines(const std::string& body) {
    std::vector<std::string> out;
    std::istringstream in(body);
    std::string line;
    while (std::getline(in, line))
        if (!line.empty()) out.push_back(line);
    return out;
}

inline std::string chat_body(const std::string& user, const std::string& extra = "") {
    std::string escaped;
    for (char c : user) {
        if (c == '"' || c == '\\') escaped += '\\';
        escaped += c;
    }
    return "{\"messages\":[{\"role\":\"user\",\"content\":\"" + escaped + "\"}],\"temperature\":0" +
           (extra.empty() ? "" : "," + extra) + "}";
}

}  // namespace apr::test
