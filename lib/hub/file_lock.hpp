// An exclusive advisory lock (flock) on a file, held for the object's
// lifetime, so two processes never write one partial download at once. The
// kernel drops it when a process dies, so a crash never leaves it stuck.
#pragma once

#include <filesystem>
#include <functional>

namespace apr::hub {

class FileLock {
public:
    // Blocks until the lock is ours; calls on_wait once first if another
    // process holds it.
    FileLock(const std::filesystem::path& path, const std::function<void()>& on_wait);
    ~FileLock();
    FileLock(const FileLock&) = delete;
    FileLock& operator=(const FileLock&) = delete;

private:
    int fd_ = -1;
};

}  // namespace apr::hub
