#include "qa_process.hpp"

#include <fcntl.h>
#include <httplib.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace apr::qa {
namespace {

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void write_file(const std::filesystem::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
}

int next_id() {
    static std::atomic<int> n{0};
    return n++;
}

// fork + exec with stdin/stdout/stderr from/to files; the environment is
// this process's plus `env`. Returns the child's pid (-1 when fork failed).
pid_t spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env, const std::string& in,
            const std::string& out, const std::string& err) {
    std::vector<char*> cargv;
    for (const std::string& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    std::vector<std::string> envs;
    for (char** e = environ; *e; ++e) {
        const std::string item(*e);
        bool replaced = false;
        for (const std::string& add : env)
            replaced = replaced || item.compare(0, add.find('=') + 1, add, 0, add.find('=') + 1) == 0;
        if (!replaced) envs.push_back(item);
    }
    envs.insert(envs.end(), env.begin(), env.end());
    std::vector<char*> cenv;
    for (const std::string& e : envs) cenv.push_back(const_cast<char*>(e.c_str()));
    cenv.push_back(nullptr);
    const pid_t pid = fork();
    if (pid == 0) {
        const int fin = ::open(in.c_str(), O_RDONLY);
        const int fout = ::open(out.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0600);
        const int ferr = ::open(err.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0600);
        if (fin < 0 || fout < 0 || ferr < 0) _exit(126);
        dup2(fin, 0);
        dup2(fout, 1);
        dup2(ferr, 2);
        setpgid(0, 0);  // its own group: a stop reaches whatever it started
        execve(cargv[0], cargv.data(), cenv.data());
        const char* msg = "exec failed\n";
        (void)!write(2, msg, std::strlen(msg));
        _exit(127);
    }
    return pid;
}

}  // namespace

std::string ProcessResult::describe() const {
    std::string tail = err.size() > 600 ? "..." + err.substr(err.size() - 600) : err;
    if (timed_out) return "did not finish in time; stderr: " + tail;
    return "exit " + std::to_string(exit_code) + (tail.empty() ? "" : ", stderr: " + tail);
}

ProcessResult run_process(const std::vector<std::string>& argv, const std::string& input,
                          const std::vector<std::string>& env, const std::filesystem::path& scratch,
                          std::chrono::seconds deadline) {
    const std::string base = (scratch / ("proc" + std::to_string(getpid()) + "_" + std::to_string(next_id()))).string();
    const std::string in = base + ".in", out = base + ".out", err = base + ".err";
    write_file(in, input);
    ProcessResult r;
    const auto start = std::chrono::steady_clock::now();
    const pid_t pid = spawn(argv, env, in, out, err);
    if (pid < 0) {
        r.err = "fork failed";
        return r;
    }
    int status = 0;
    struct rusage usage {};
    while (true) {
        const pid_t done = wait4(pid, &status, WNOHANG, &usage);
        if (done == pid) break;
        if (std::chrono::steady_clock::now() - start > deadline) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            wait4(pid, &status, 0, &usage);
            r.timed_out = true;
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    r.exit_code = !r.timed_out && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.peak_rss_mb = static_cast<double>(usage.ru_maxrss) / 1024.0;  // KiB on Linux
    r.out = read_file(out);
    r.err = read_file(err);
    std::error_code ec;
    for (const std::string& f : {in, out, err}) std::filesystem::remove(f, ec);
    return r;
}

ServeChild::ServeChild(const std::filesystem::path& apr, const std::vector<std::string>& args,
                       const std::vector<std::string>& env, const std::filesystem::path& log_file)
    : log_file_(log_file) {
    std::vector<std::string> argv{apr.string(), "serve", "--port", "0", "--host", "127.0.0.1"};
    argv.insert(argv.end(), args.begin(), args.end());
    pid_ = spawn(argv, env, "/dev/null", "/dev/null", log_file.string());
    if (pid_ < 0) throw std::runtime_error("fork failed");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    const std::regex listening("listening on http://127\\.0\\.0\\.1:([0-9]+)");
    while (std::chrono::steady_clock::now() < deadline) {
        const std::string text = log();
        std::smatch m;
        if (port_ == 0 && std::regex_search(text, m, listening)) port_ = std::stoi(m[1]);
        if (port_ != 0) {
            httplib::Client c("127.0.0.1", port_);
            c.set_connection_timeout(2, 0);
            auto r = c.Get("/health");
            if (r && r->status == 200) return;
        }
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            throw std::runtime_error("apr serve exited early: " + text);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    stop();
    throw std::runtime_error("apr serve did not answer /health within 60 s: " + log());
}

ServeChild::~ServeChild() {
    if (pid_ > 0) stop();
}

std::string ServeChild::log() const { return read_file(log_file_); }

std::string ServeChild::wait_for_log(const std::string& text, std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string l = log();
    while (l.find(text) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        l = log();
    }
    return l;
}

int ServeChild::stop() {
    if (pid_ <= 0) return -1;
    kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    kill(-pid_, SIGKILL);
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return -1;
}

std::filesystem::path find_on_path(const std::string& name) {
    const char* path = std::getenv("PATH");
    if (path == nullptr) return {};
    std::stringstream in(path);
    std::string dir;
    while (std::getline(in, dir, ':')) {
        if (dir.empty()) continue;
        const std::filesystem::path p = std::filesystem::path(dir) / name;
        if (access(p.c_str(), X_OK) == 0 && std::filesystem::is_regular_file(p)) return p;
    }
    return {};
}

}  // namespace apr::qa
