#include "progress_bar.hpp"

#include <fmt/core.h>
#include <unistd.h>

#include <cstdio>

namespace apr::cli {

ProgressBar::ProgressBar(std::string label) : label_(std::move(label)), enabled_(::isatty(STDERR_FILENO) == 1) {}

ProgressBar::~ProgressBar() {
    if (drawn_) std::fputc('\n', stderr);
}

void ProgressBar::update(size_t done, size_t total, std::string_view item) {
    if (!enabled_ || total == 0) return;
    const int permille = static_cast<int>(done * 1000 / total);
    if (permille == last_permille_ && done != total) return;
    last_permille_ = permille;
    constexpr int kWidth = 30;
    const int filled = permille * kWidth / 1000;
    const std::string bar = std::string(filled, '#') + std::string(kWidth - filled, '.');
    const double mib = 1024.0 * 1024.0;
    const std::string name(item.substr(0, 40));
    fmt::print(stderr, "\r{} [{}] {:3d}% {:8.1f}/{:.1f} MiB  {:<40}", label_, bar, permille / 10, done / mib,
               total / mib, name);
    std::fflush(stderr);
    drawn_ = true;
}

ConvertProgress ProgressBar::callback() {
    return [this](size_t done, size_t total, std::string_view item) { update(done, total, item); };
}

}  // namespace apr::cli
