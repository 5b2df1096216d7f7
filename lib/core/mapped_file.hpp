// A read-only memory mapping of a whole file. Model data is used in place
// from the mapping, so opening a multi-gigabyte model costs no copy and the
// operating system shares the pages between processes.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>
#include <string>

namespace apr {

class MappedFile {
public:
    // Throws apr::Error(io) naming the path when the file cannot be opened or mapped.
    explicit MappedFile(const std::filesystem::path& path);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const std::byte* data() const { return data_; }
    size_t size() const { return size_; }
    std::span<const std::byte> bytes() const { return {data_, size_}; }
    const std::string& path() const { return path_; }

private:
    std::string path_;
    const std::byte* data_ = nullptr;
    size_t size_ = 0;
};

}  // namespace apr
