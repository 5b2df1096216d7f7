#include "line_reader.hpp"

#include <editline/readline.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace apr::cli {

namespace {

std::atomic<bool> g_interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free);

void on_sigint(int) { g_interrupted.store(true, std::memory_order_relaxed); }

// libedit's own read retries after EINTR; this one gives up when SIGINT
// arrived, so readline() returns and the caller sees the interrupt.
int getc_interruptible(FILE* stream) {
    unsigned char c = 0;
    for (;;) {
        const ssize_t n = ::read(fileno(stream), &c, 1);
        if (n == 1) return c;
        if (n < 0 && errno == EINTR) {
            if (g_interrupted.load(std::memory_order_relaxed)) return EOF;
            continue;
        }
        return EOF;
    }
}

std::filesystem::path state_folder() {
    if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg != nullptr && *xdg == '/')
        return std::filesystem::path(xdg) / "apr";
    if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0')
        return std::filesystem::path(home) / ".local" / "state" / "apr";
    return {};
}

constexpr int kHistoryLines = 1000;

}  // namespace

void install_interrupt_handler() {
    struct sigaction sa {};
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: a blocking read returns EINTR
    sigaction(SIGINT, &sa, nullptr);
}

const std::atomic<bool>* interrupt_flag() { return &g_interrupted; }

bool take_interrupt() { return g_interrupted.exchange(false, std::memory_order_relaxed); }

LineReader::LineReader(bool interactive) : interactive_(interactive) {
    if (!interactive_) return;
    rl_catch_signals = 0;
    rl_getc_function = getc_interruptible;
    using_history();
    stifle_history(kHistoryLines);
    const std::filesystem::path folder = state_folder();
    if (folder.empty()) return;
    std::error_code ec;
    std::filesystem::create_directories(folder, ec);
    if (ec) {
        fmt::print(stderr, "apr chat: no history ({}: {})\n", folder.string(), ec.message());
        return;
    }
    history_file_ = folder / "chat_history";
    if (std::filesystem::exists(history_file_)) read_history(history_file_.c_str());
}

LineReader::~LineReader() {
    if (!history_file_.empty()) write_history(history_file_.c_str());
}

std::optional<std::string> LineReader::read_line(const char* prompt, bool* interrupted) {
    *interrupted = false;
    if (!interactive_) {
        std::string line;
        if (!std::getline(std::cin, line)) return std::nullopt;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        return line;
    }
    char* raw = readline(prompt);
    if (take_interrupt()) {
        std::free(raw);
        *interrupted = true;
        return std::nullopt;
    }
    if (raw == nullptr) return std::nullopt;
    std::string line(raw);
    std::free(raw);
    return line;
}

ReadResult LineReader::read() {
    bool interrupted = false;
    std::optional<std::string> first = read_line(">>> ", &interrupted);
    if (interrupted) return {ReadStatus::interrupted, {}};
    if (!first) return {ReadStatus::end, {}};
    std::string text = *first;
    if (interactive_) {
        // Multi-line input: `"""` ... `"""`, or lines ending with a backslash.
        if (text.rfind("\"\"\"", 0) == 0) {
            text.erase(0, 3);
            while (text.size() < 3 || text.compare(text.size() - 3, 3, "\"\"\"") != 0) {
                std::optional<std::string> more = read_line("... ", &interrupted);
                if (interrupted) return {ReadStatus::interrupted, {}};
                if (!more) break;  // Ctrl-D ends the block
                text += "\n" + *more;
            }
            if (text.size() >= 3 && text.compare(text.size() - 3, 3, "\"\"\"") == 0) text.resize(text.size() - 3);
            if (!text.empty() && text.front() == '\n') text.erase(0, 1);
        } else {
            while (!text.empty() && text.back() == '\\') {
                text.back() = '\n';
                std::optional<std::string> more = read_line("... ", &interrupted);
                if (interrupted) return {ReadStatus::interrupted, {}};
                if (!more) break;
                text += *more;
            }
        }
        if (!text.empty()) {
            add_history(text.c_str());
            // Saved after every message, so a crash or a kill loses nothing typed.
            if (!history_file_.empty()) write_history(history_file_.c_str());
        }
    }
    return {ReadStatus::message, text};
}

}  // namespace apr::cli
