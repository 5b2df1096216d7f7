#include "core/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/fail.hpp"

namespace apr {
namespace {

void refuse_existing(const std::string& target) {
    std::error_code ec;
    if (std::filesystem::exists(target, ec))
        fail(ErrorCode::invalid_argument, "{}: already exists (pass --force to overwrite it)", target);
}

}  // namespace

AtomicFile::AtomicFile(const std::filesystem::path& target, bool overwrite)
    : target_(target.string()), overwrite_(overwrite) {
    if (!overwrite_) refuse_existing(target_);
    temp_ = target_ + ".tmpXXXXXX";
    fd_ = ::mkstemp(temp_.data());
    if (fd_ < 0) fail(ErrorCode::io, "{}: cannot create a temporary file beside it: {}", target_, std::strerror(errno));
}

AtomicFile::~AtomicFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(temp_.c_str());
}

void AtomicFile::write(const void* data, size_t size) {
    const auto* p = static_cast<const char*>(data);
    while (size > 0) {
        const ssize_t n = ::write(fd_, p, std::min<size_t>(size, size_t{1} << 30));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) fail(ErrorCode::io, "{}: write failed: {}", target_, std::strerror(errno));
        p += n;
        size -= static_cast<size_t>(n);
        written_ += static_cast<size_t>(n);
    }
}

void AtomicFile::write_zeros(size_t count) {
    static const char zeros[4096] = {};
    while (count > 0) {
        const size_t n = std::min(count, sizeof(zeros));
        write(zeros, n);
        count -= n;
    }
}

void AtomicFile::commit() {
    if (::fchmod(fd_, 0644) != 0 || ::fsync(fd_) != 0)
        fail(ErrorCode::io, "{}: cannot flush to disk: {}", target_, std::strerror(errno));
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail(ErrorCode::io, "{}: cannot close: {}", target_, std::strerror(errno));
    if (overwrite_) {
        if (::rename(temp_.c_str(), target_.c_str()) != 0)
            fail(ErrorCode::io, "{}: cannot rename the finished file into place: {}", target_, std::strerror(errno));
    } else {
        // link() fails when the target exists, so a file created since the
        // constructor's check is never replaced.
        if (::link(temp_.c_str(), target_.c_str()) != 0) {
            if (errno == EEXIST) refuse_existing(target_);
            fail(ErrorCode::io, "{}: cannot move the finished file into place: {}", target_, std::strerror(errno));
        }
        ::unlink(temp_.c_str());
    }
    committed_ = true;
    // Sync the folder so the new name survives a crash too.
    const std::string folder = std::filesystem::path(target_).parent_path().string();
    const int dir = ::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY);
    if (dir >= 0) {
        (void)::fsync(dir);
        ::close(dir);
    }
}

}  // namespace apr
