// One file from the Hub into the cache: locked, resumable, verified.
//
//   1. the final path exists: done (a completed file is never fetched again)
//   2. take FILE.lock; check 1 again (another process may have finished it)
//   3. HEAD the resolve URL: size and checksum (X-Linked-Etag, else ETag)
//   4. a partial from an earlier run of the same etag: resume with Range
//   5. hash the partial; only a match is renamed into place
#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/fail.hpp"
#include "hub/cache_layout.hpp"
#include "hub/downloads.hpp"
#include "hub/file_lock.hpp"
#include "hub/hub_errors.hpp"
#include "hub/http_client.hpp"
#include "hub/progress.hpp"
#include "hub/verify.hpp"

namespace apr::hub {
namespace {

namespace fs = std::filesystem;

struct Remote {
    std::string etag;  // as the Hub gave it, normalized; may be empty
    std::optional<ExpectedDigest> digest;
    std::optional<uint64_t> size;
};

std::optional<uint64_t> parse_size(const std::optional<std::string>& text) {
    if (!text || text->empty()) return std::nullopt;
    char* end = nullptr;
    const unsigned long long value = std::strtoull(text->c_str(), &end, 10);
    if (*end != '\0') return std::nullopt;
    return value;
}

std::string resolve_url(const HubUri& uri, const HubOptions& options) {
    std::string path;
    size_t start = 0;
    while (true) {
        const size_t slash = uri.file.find('/', start);
        path += url_escape(uri.file.substr(start, slash - start));
        if (slash == std::string::npos) break;
        path += '/';
        start = slash + 1;
    }
    return options.endpoint + "/" + uri.repo + "/resolve/" + url_escape(uri.revision) + "/" + path;
}

// The Hub answers a resolve URL of an LFS file with a redirect carrying
// X-Linked-Etag (the sha256) and X-Linked-Size; the CDN's own ETag means
// nothing to us. A plain git file is answered directly, ETag = blob id.
Remote describe(const HttpResponse& head) {
    Remote r;
    if (auto linked = head.first_header("x-linked-etag")) r.etag = *linked;
    else if (auto etag = head.first_header("etag")) r.etag = *etag;
    r.digest = parse_etag(r.etag);
    r.size = parse_size(head.first_header("x-linked-size"));
    if (!r.size) r.size = parse_size(head.final_header("content-length"));
    return r;
}

std::string read_small(const fs::path& path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

void write_small(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::trunc);
    out << text;
    if (!out) fail(ErrorCode::io, "{}: cannot write", path.string());
}

uint64_t size_or_zero(const fs::path& path) {
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    return ec ? 0 : size;
}

void check_free_space(const fs::path& folder, uint64_t needed, const HubUri& uri) {
    struct statvfs vfs{};
    if (::statvfs(folder.c_str(), &vfs) != 0) return;
    const uint64_t free_bytes = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
    if (needed > free_bytes)
        fail(ErrorCode::io, "{}: not enough disk space: {} more bytes ({}) are needed in {} but only {} are free",
             uri.str(), needed, human_bytes(static_cast<double>(needed)), folder.string(),
             human_bytes(static_cast<double>(free_bytes)));
}

// Appends the body to the partial file (starting over when the server
// ignored the Range), reporting progress; remembers why it stopped.
class PartialWriter {
public:
    PartialWriter(const fs::path& path, uint64_t offset, const HubUri& uri, const ProgressCallback& progress,
                  std::optional<uint64_t> total)
        : path_(path), offset_(offset), uri_(uri), progress_(progress), total_(total.value_or(0)) {
        fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd_ < 0) fail(ErrorCode::io, "{}: cannot open for writing: {}", path.string(), std::strerror(errno));
        start_ = std::chrono::steady_clock::now();
    }
    ~PartialWriter() {
        if (fd_ >= 0) ::close(fd_);
    }

    bool write(long status, const HttpResponse& response, const char* data, size_t size) {
        if (!started_) {
            started_ = true;
            if (status == 200 && offset_ > 0) {  // the server sent the whole file: start over
                if (::ftruncate(fd_, 0) != 0) return stop(fmt::format("cannot truncate {}", path_.string()));
                offset_ = 0;
            } else if (status == 206) {
                const std::string range = response.final_header("content-range").value_or("");
                if (!range.starts_with("bytes " + std::to_string(offset_) + "-"))
                    return stop(fmt::format("the server answered the range request from byte {} with '{}'",
                                            offset_, range));
            }
        }
        while (size > 0) {
            const ssize_t n = ::write(fd_, data, size);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) {
                const int err = errno;
                if (err == ENOSPC || err == EDQUOT)
                    return stop(fmt::format(
                        "no space left on the device writing {} ({} of the file are saved; free some space and "
                        "run the command again to resume)",
                        path_.string(), human_bytes(static_cast<double>(offset_ + written_))));
                return stop(fmt::format("cannot write {}: {}", path_.string(), std::strerror(err)));
            }
            data += n;
            size -= static_cast<size_t>(n);
            written_ += static_cast<uint64_t>(n);
        }
        return report(false);
    }

    bool report(bool force) {
        if (!progress_) return true;
        const auto now = std::chrono::steady_clock::now();
        if (!force && now - last_report_ < std::chrono::milliseconds(50)) return true;
        last_report_ = now;
        const double seconds = std::chrono::duration<double>(now - start_).count();
        Progress p{uri_.file, offset_ + written_, total_, seconds > 0 ? written_ / seconds : 0};
        if (!progress_(p)) {
            cancelled_ = true;
            return stop("cancelled");
        }
        return true;
    }

    void finish() {
        if (::fsync(fd_) != 0 && errno != EINVAL)
            fail(ErrorCode::io, "{}: cannot flush to disk: {}", path_.string(), std::strerror(errno));
    }

    const std::string& reason() const { return reason_; }
    bool cancelled() const { return cancelled_; }

private:
    bool stop(std::string why) {
        reason_ = std::move(why);
        return false;
    }
    fs::path path_;
    uint64_t offset_;
    const HubUri& uri_;
    const ProgressCallback& progress_;
    uint64_t total_;
    int fd_ = -1;
    bool started_ = false, cancelled_ = false;
    uint64_t written_ = 0;
    std::string reason_;
    std::chrono::steady_clock::time_point start_, last_report_{};
};

void discard(const CacheLayout& layout, const HubUri& uri) {
    std::error_code ec;
    fs::remove(layout.partial_path(uri), ec);
    fs::remove(layout.etag_path(uri), ec);
}

// One attempt: HEAD, then GET the rest. Throws TransientError for the retry
// loop; returns once the partial file is complete (not yet verified).
Remote fetch_partial(const HubUri& uri, const HubOptions& options, const CacheLayout& layout,
                     const ProgressCallback& progress) {
    const std::string url = resolve_url(uri, options);
    HttpRequest head_request{url, options.token, true, 0};
    const HttpResponse head = http_request(head_request, nullptr);
    check_status(head, uri, options);
    if (head.status == 416) fail(ErrorCode::io, "{}: the server refused a plain HEAD request with 416", uri.str());
    const Remote remote = describe(head);

    const fs::path partial = layout.partial_path(uri);
    // A partial of another version of the file (the etag changed) is useless.
    if (fs::exists(layout.etag_path(uri)) && read_small(layout.etag_path(uri)) != remote.etag) discard(layout, uri);
    if (!fs::exists(layout.etag_path(uri))) {
        std::error_code ec;
        fs::remove(partial, ec);
        write_small(layout.etag_path(uri), remote.etag);
    }
    uint64_t offset = size_or_zero(partial);
    if (remote.size && offset > *remote.size) {
        discard(layout, uri);
        write_small(layout.etag_path(uri), remote.etag);
        offset = 0;
    }
    if (remote.size) {
        if (offset == *remote.size) return remote;  // complete already; verify
        check_free_space(layout.incomplete_dir(uri), *remote.size - offset, uri);
    }

    PartialWriter writer(partial, offset, uri, progress, remote.size);
    HttpRequest get_request{url, options.token, false, offset};
    bool aborted = false;
    const HttpResponse got = http_request(
        get_request,
        [&](long status, const HttpResponse& r, const char* data, size_t size) {
            return writer.write(status, r, data, size);
        },
        &aborted);
    if (aborted) {
        if (writer.cancelled()) fail(ErrorCode::cancelled, "{}: download cancelled", uri.str());
        fail(ErrorCode::io, "{}: {}", uri.str(), writer.reason());
    }
    check_status(got, uri, options);
    writer.finish();
    if (got.status == 416 && remote.size && size_or_zero(partial) != *remote.size) {
        discard(layout, uri);  // the server has nothing past our partial: it was not ours
        throw TransientError(fmt::format("{}: the server refused to resume at byte {}", uri.str(), offset));
    }
    if (remote.size && size_or_zero(partial) < *remote.size)
        throw TransientError(fmt::format("{}: the transfer ended after {} of {} bytes", uri.str(),
                                         size_or_zero(partial), *remote.size));
    writer.report(true);
    return remote;
}

void verify_and_install(const HubUri& uri, const Remote& remote, const CacheLayout& layout, const fs::path& final) {
    const fs::path partial = layout.partial_path(uri);
    const uint64_t size = size_or_zero(partial);
    if (remote.size && size != *remote.size) {
        discard(layout, uri);
        fail(ErrorCode::io, "{}: downloaded {} bytes but the Hub announced {}; the download was removed, run it again",
             uri.str(), size, *remote.size);
    }
    if (remote.digest) {
        const std::string got = file_digest(partial, remote.digest->kind);
        if (got != remote.digest->hex) {
            discard(layout, uri);
            fail(ErrorCode::io,
                 "{}: checksum mismatch: the Hub gives {} {} but the downloaded file has {}; the corrupted "
                 "download was removed and nothing was cached",
                 uri.str(), digest_name(remote.digest->kind), remote.digest->hex, got);
        }
    }
    std::error_code ec;
    fs::create_directories(final.parent_path(), ec);
    if (ec) fail(ErrorCode::io, "{}: cannot create: {}", final.parent_path().string(), ec.message());
    fs::rename(partial, final, ec);
    if (ec) fail(ErrorCode::io, "cannot move {} to {}: {}", partial.string(), final.string(), ec.message());
    fs::remove(layout.etag_path(uri), ec);
}

}  // namespace

fs::path download_file(const HubUri& uri, const HubOptions& options) {
    const CacheLayout layout(options.cache_dir);
    const fs::path final = layout.file_path(uri);
    std::error_code ec;
    if (fs::is_regular_file(final, ec)) return final;
    if (options.offline.value_or(false))
        fail(ErrorCode::not_found,
             "{}: not in the cache ({}) and downloads are off (--offline or HF_HUB_OFFLINE=1); run `apr download {}` "
             "while online",
             uri.str(), final.string(), uri.str());
    fs::create_directories(layout.incomplete_dir(uri), ec);
    if (ec) fail(ErrorCode::io, "{}: cannot create the cache folder: {}", layout.incomplete_dir(uri).string(), ec.message());

    const ProgressCallback progress = options.progress ? options.progress : default_progress();
    const bool terminal = !options.progress && progress;  // the default bar is drawing
    FileLock lock(layout.lock_path(uri), [&] {
        if (terminal) std::fprintf(stderr, "waiting for another process downloading %s\n", uri.str().c_str());
    });
    if (fs::is_regular_file(final, ec)) return final;

    Remote remote;
    try {
        with_retries(options, uri.str(), "", [&] { remote = fetch_partial(uri, options, layout, progress); });
    } catch (const Error& e) {
        const uint64_t saved = size_or_zero(layout.partial_path(uri));
        if (e.code() != ErrorCode::io || saved == 0) throw;
        fail(ErrorCode::io, "{}; the {} downloaded so far are kept in {} and the next run resumes it", e.what(),
             human_bytes(static_cast<double>(saved)), layout.partial_path(uri).string());
    }
    verify_and_install(uri, remote, layout, final);
    return final;
}

}  // namespace apr::hub
