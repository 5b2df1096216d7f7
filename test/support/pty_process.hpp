// Runs a program in a pseudo-terminal, as a user at a terminal would: the
// test writes keystrokes and waits for text to appear (with a deadline, so a
// hung program fails the test instead of hanging it). Used by the `apr chat`
// tests; forkpty() is in glibc.
#pragma once

#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

namespace apr::test {

class PtyProcess {
public:
    // argv[0] is the program's path; env entries are "NAME=value" added to the environment.
    PtyProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env = {}) {
        struct winsize ws {};
        ws.ws_row = 40;
        ws.ws_col = 200;
        pid_ = forkpty(&fd_, nullptr, nullptr, &ws);
        if (pid_ < 0) throw std::runtime_error("forkpty failed");
        if (pid_ == 0) {
            for (const std::string& e : env) putenv(const_cast<char*>(e.c_str()));
            std::vector<char*> args;
            for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
            args.push_back(nullptr);
            execv(args[0], args.data());
            _exit(127);
        }
    }
    ~PtyProcess() {
        if (pid_ > 0 && !exited_) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
        if (fd_ >= 0) close(fd_);
    }
    PtyProcess(const PtyProcess&) = delete;
    PtyProcess& operator=(const PtyProcess&) = delete;

    void send(const std::string& keys) {
        size_t done = 0;
        while (done < keys.size()) {
            const ssize_t n = write(fd_, keys.data() + done, keys.size() - done);
            if (n <= 0) throw std::runtime_error("write to the pty failed");
            done += static_cast<size_t>(n);
        }
    }

    // Reads until `text` appears after the current read mark (then moves the
    // mark past it) or the deadline passes; returns whether it appeared.
    bool wait_for(const std::string& text, double seconds = 30) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
        for (;;) {
            const size_t at = output_.find(text, mark_);
            if (at != std::string::npos) {
                mark_ = at + text.size();
                return true;
            }
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0 || !read_some(static_cast<int>(left.count()))) return false;
        }
    }

    // Reads until the output holds at least `size` bytes; returns whether it does.
    bool wait_for_size(size_t size, double seconds = 30) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
        while (output_.size() < size) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0 || !read_some(static_cast<int>(left.count()))) return false;
        }
        return true;
    }

    // Waits until the program has switched the terminal out of canonical
    // mode (a line editor reading keys). Keys sent before that are processed
    // by the terminal's own line discipline (echoed, ^D taken as end of
    // file), and may be lost when the editor switches modes, so a test sends
    // keys only once this returns true.
    bool wait_until_raw(double seconds = 30) {
        const int slave = open(ptsname(fd_), O_RDWR | O_NOCTTY);
        if (slave < 0) return false;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
        bool raw = false;
        while (!raw && std::chrono::steady_clock::now() < deadline) {
            termios t {};
            raw = tcgetattr(slave, &t) == 0 && (t.c_lflag & ICANON) == 0;
            if (!raw) read_some(5);
        }
        close(slave);
        return raw;
    }

    // Waits for the program to exit; returns its exit status (-1 on timeout).
    int wait_exit(double seconds = 30) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
        while (std::chrono::steady_clock::now() < deadline) {
            int status = 0;
            if (waitpid(pid_, &status, WNOHANG) == pid_) {
                exited_ = true;
                while (read_some(50)) {
                }
                return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            }
            read_some(50);
        }
        return -1;
    }

    // Everything the program wrote so far, and what came after the mark.
    const std::string& output() const { return output_; }
    std::string since_mark() const { return output_.substr(mark_); }
    size_t mark() const { return mark_; }

private:
    bool read_some(int timeout_ms) {
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, timeout_ms) <= 0) return false;
        char buf[4096];
        const ssize_t n = read(fd_, buf, sizeof buf);
        if (n <= 0) return false;
        output_.append(buf, static_cast<size_t>(n));
        return true;
    }

    pid_t pid_ = -1;
    int fd_ = -1;
    bool exited_ = false;
    std::string output_;
    size_t mark_ = 0;
};

}  // namespace apr::test
