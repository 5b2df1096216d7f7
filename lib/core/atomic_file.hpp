// A file written atomically: bytes go to a temporary file beside the target
// ("<target>.tmpXXXXXX"); commit() flushes it to disk (fsync), renames it
// over the target and syncs the folder. Until commit() succeeds the target is
// untouched, and a writer destroyed without commit() (an error, an
// exception, a cancelled conversion) removes its temporary file. An existing
// target is replaced only when `overwrite` is true; otherwise both the
// constructor and commit() refuse with apr::Error(invalid_argument), so a
// file that appeared meanwhile is not clobbered either.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

namespace apr {

class AtomicFile {
public:
    AtomicFile(const std::filesystem::path& target, bool overwrite);
    ~AtomicFile();
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;

    // Appends bytes; throws apr::Error(io) naming the target on failure.
    void write(const void* data, size_t size);
    void write_zeros(size_t count);
    size_t written() const { return written_; }

    // Makes the file visible under the target name.
    void commit();

    const std::string& target() const { return target_; }

private:
    std::string target_;
    std::string temp_;
    int fd_ = -1;
    bool overwrite_;
    bool committed_ = false;
    size_t written_ = 0;
};

}  // namespace apr
