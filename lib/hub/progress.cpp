#include "hub/progress.hpp"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>

namespace apr::hub {
namespace {

size_t terminal_width() {
    winsize ws{};
    if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20) return ws.ws_col;
    return 80;
}

std::string eta_text(double seconds) {
    if (seconds < 0 || seconds > 99 * 3600) return "--:--";
    const auto s = static_cast<long>(seconds + 0.5);
    if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
    return fmt::format("{}:{:02}", s / 60, s % 60);
}

// Redraws at most ten times a second; ends the line when a file completes.
class TerminalBar {
public:
    bool operator()(const Progress& p) {
        const auto now = std::chrono::steady_clock::now();
        const bool finished = p.total > 0 && p.done >= p.total;
        if (!finished && p.file == file_ && now - last_ < std::chrono::milliseconds(100)) return true;
        if (p.file != file_ && !file_.empty() && !ended_) std::fputc('\n', stderr);
        if (p.file != file_) ended_ = false;
        file_ = p.file;
        last_ = now;
        if (ended_) return true;
        std::fprintf(stderr, "\r%s\x1b[K", progress_line(p, terminal_width() - 1).c_str());
        if (finished) {
            std::fputc('\n', stderr);
            ended_ = true;
        }
        std::fflush(stderr);
        return true;
    }

private:
    std::string file_;
    std::chrono::steady_clock::time_point last_{};
    bool ended_ = false;
};

}  // namespace

std::string human_bytes(double bytes) {
    static constexpr const char* kUnits[] = {"B", "kB", "MB", "GB", "TB"};
    int unit = 0;
    while (bytes >= 1000 && unit < 4) {
        bytes /= 1000;
        ++unit;
    }
    return unit == 0 ? fmt::format("{:.0f} B", bytes) : fmt::format("{:.1f} {}", bytes, kUnits[unit]);
}

std::string progress_line(const Progress& p, size_t width) {
    std::string right;
    if (p.total > 0) {
        const double fraction = static_cast<double>(p.done) / static_cast<double>(p.total);
        right = fmt::format("{:3.0f}% {}/{}", fraction * 100, human_bytes(p.done), human_bytes(p.total));
    } else {
        right = human_bytes(p.done);
    }
    right += fmt::format("  {}/s", human_bytes(p.bytes_per_second));
    if (p.total > 0 && p.bytes_per_second > 0)
        right += "  ETA " + eta_text(static_cast<double>(p.total - std::min(p.done, p.total)) / p.bytes_per_second);
    std::string name = p.file;
    const size_t room = width > right.size() + 2 ? width - right.size() - 2 : 0;
    if (name.size() > room) name = room > 3 ? "..." + name.substr(name.size() - (room - 3)) : std::string();
    std::string line = name + std::string(room > name.size() ? room - name.size() : 0, ' ') + "  " + right;
    if (line.size() > width) line.resize(width);
    return line;
}

ProgressCallback default_progress() {
    const char* disabled = std::getenv("HF_HUB_DISABLE_PROGRESS_BARS");
    if ((disabled && *disabled && std::string(disabled) != "0") || !::isatty(STDERR_FILENO)) return nullptr;
    auto bar = std::make_shared<TerminalBar>();
    return [bar](const Progress& p) { return (*bar)(p); };
}

}  // namespace apr::hub
