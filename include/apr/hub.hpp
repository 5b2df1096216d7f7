// Models from the Hugging Face Hub: hf:// URIs, downloads into a local cache
// that survives interruptions, and the cache's listing and removal.
//
//   hf://OWNER/REPO                   a SafeTensors repository (config,
//                                     tokenizer and weight files)
//   hf://OWNER/REPO/PATH/IN/REPO      one file, e.g. a .gguf
//   hf://OWNER/REPO@REVISION/...      a branch, tag or commit (default main)
//
// Every function that opens a model source (open_model_file, Model::load,
// Tokenizer::from_file, ChatTemplate::from_hf_path and the C ABI on top)
// accepts such a URI and downloads what is missing first, with the settings
// the environment gives (HubOptions' comments name the variables).
//
// Thread safety: the functions are safe to call from several threads and
// processes at once; a file lock keeps two downloads of one file apart.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "apr/export.hpp"

namespace apr::hub {

// A parsed hf:// URI. `file` is empty for a whole repository.
struct APR_API HubUri {
    std::string repo;      // "OWNER/REPO"
    std::string revision;  // "main" unless the URI names one
    std::string file;      // path inside the repository, '/'-separated
    bool revision_given = false;  // the URI spelled out @REVISION
    std::string str() const;  // back to "hf://..." form
};

// True when `source` starts with "hf://" (the URI may still be malformed).
APR_API bool is_hub_uri(std::string_view source) noexcept;

// Throws Error(invalid_argument) naming what is wrong: a missing owner, an
// empty or ".." path segment, characters the Hub does not allow, ...
APR_API HubUri parse_uri(std::string_view uri);

// One progress report of one file. total is 0 when the size is unknown.
struct Progress {
    std::string file;          // path inside the repository
    uint64_t done = 0;         // bytes on disk, resumed ones included
    uint64_t total = 0;
    double bytes_per_second = 0;  // over this run's transfer, not the resumed part
};

// Returns false to cancel the download (Error(cancelled); the partial file
// stays for a later resume).
using ProgressCallback = std::function<bool(const Progress&)>;

// Empty / unset fields are filled from the environment by download() and
// the other calls; settings() shows the result.
struct HubOptions {
    std::string endpoint;               // HF_ENDPOINT, else https://huggingface.co
    std::string token;                  // HF_TOKEN, else the huggingface_hub token file
    std::filesystem::path cache_dir;    // APR_CACHE, else $XDG_CACHE_HOME/apr, else ~/.cache/apr
    std::optional<bool> offline;        // HF_HUB_OFFLINE=1: use the cache only
    std::string revision;               // overrides the URI's revision when set
    std::optional<int> max_retries;     // APR_HUB_RETRIES, else 5: transient failures retried with backoff
    std::optional<int> retry_delay_ms;  // APR_HUB_RETRY_DELAY_MS, else 500 (doubles per retry, at most 30 s)
    // Null: a progress bar on stderr when stderr is a terminal (and
    // HF_HUB_DISABLE_PROGRESS_BARS is unset), nothing otherwise.
    ProgressCallback progress;
};

// The options with every unset field filled from the environment.
APR_API HubOptions settings(const HubOptions& options = {});

// Downloads what `uri` names into the cache unless it is there already and
// returns the local path: the file, or the repository's folder (a Hugging
// Face directory Model::load opens). Errors: invalid_argument (malformed
// URI), not_found (404: names the repo and file; or offline and not cached),
// io (network after retries, 401/403 mentioning HF_TOKEN, full disk,
// checksum mismatch), cancelled (the progress callback said stop).
APR_API std::filesystem::path download(std::string_view uri, const HubOptions& options = {});

// Where `uri` lives in the cache, whether or not it has been downloaded.
APR_API std::filesystem::path cache_path(std::string_view uri, const HubOptions& options = {});

// A model source for the readers: a local path is returned unchanged, an
// hf:// URI is downloaded (or found in the cache) with the environment's
// settings. This is the one place the library turns URIs into files.
APR_API std::filesystem::path resolve_source(const std::filesystem::path& source);

// One repository revision in the cache.
struct CachedModel {
    std::string repo;
    std::string revision;
    std::filesystem::path path;
    uint64_t bytes = 0;               // completed files only
    std::vector<std::string> files;   // completed files, '/'-separated, sorted
    bool complete_repository = false; // a whole-repository download finished
    uint64_t partial_bytes = 0;       // interrupted downloads waiting to resume
};

// Every cached revision, sorted by repo then revision.
APR_API std::vector<CachedModel> list_cache(const HubOptions& options = {});

// list_cache() as one compact JSON array of {uri, repo, revision, path,
// bytes, partial_bytes, complete_repository, files}: what `apr list --json`
// prints and apr_hub_list_json returns.
APR_API std::string list_cache_json(const HubOptions& options = {});

// Removes what `uri` names from the cache: one file, one revision
// (hf://OWNER/REPO@REV) or every revision of a repository (hf://OWNER/REPO),
// partial downloads included. Returns the bytes freed; throws
// Error(not_found) when nothing matched.
APR_API uint64_t remove_from_cache(std::string_view uri, const HubOptions& options = {});

}  // namespace apr::hub
