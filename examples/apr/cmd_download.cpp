// apr download URI... [--revision REV] [--output DIR] (alias apr pull):
// fetch hf:// models into the cache (docs/download.md) and print where they
// are. The library does the work; this file parses and reports.
#include <fmt/core.h>

#include <filesystem>

#include "apr/error.hpp"
#include "apr/hub.hpp"
#include "commands.hpp"
#include "flags.hpp"

namespace apr::cli {
namespace {

namespace fs = std::filesystem;

// A hard link when DIR is on the cache's file system (no second copy), a
// copy otherwise; an existing file of the same size is left alone.
void place(const fs::path& from, const fs::path& to) {
    std::error_code ec;
    if (fs::exists(to, ec) && fs::file_size(to, ec) == fs::file_size(from, ec)) return;
    fs::create_directories(to.parent_path(), ec);
    fs::remove(to, ec);
    fs::create_hard_link(from, to, ec);
    if (!ec) return;
    fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
    if (ec) throw Error(ErrorCode::io, fmt::format("cannot copy {} to {}: {}", from.string(), to.string(), ec.message()));
}

fs::path export_to(const hub::HubUri& uri, const fs::path& local, const fs::path& output) {
    if (!uri.file.empty()) {
        const fs::path to = output / uri.file;
        place(local, to);
        return to;
    }
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(local, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
        const bool hidden = it->path().filename().string().starts_with(".");
        if (it->is_directory(ec)) {
            if (hidden) it.disable_recursion_pending();
            continue;
        }
        if (!hidden && it->is_regular_file(ec)) place(it->path(), output / fs::relative(it->path(), local));
    }
    return output;
}

}  // namespace

int cmd_download(const Args& args) {
    Flags flags("apr download", "URI... [--revision REV] [--output DIR]",
                "Download models from the Hugging Face Hub into the cache (APR_CACHE, else ~/.cache/apr) and print\n"
                "their local paths. URI is hf://OWNER/REPO/FILE (one file, e.g. a .gguf) or hf://OWNER/REPO (a\n"
                "SafeTensors repository: config, tokenizer and weights). Interrupted downloads resume; files are\n"
                "checked against the Hub's sha256. HF_TOKEN is sent for gated models, HF_ENDPOINT replaces\n"
                "https://huggingface.co. Every command that takes a MODEL accepts the same URIs.");
    std::string revision;
    std::optional<std::string> output;
    flags.add("--revision", &revision, "branch, tag or commit (default: the URI's @REV, else main)", "REV");
    flags.add("--output", &output, "also place the files in DIR (hard links when possible)", "DIR");
    const std::vector<std::string> uris = flags.parse(args);
    if (uris.empty()) throw UsageError("expected at least one hf:// URI");
    for (const std::string& text : uris) {
        try {
            hub::parse_uri(text);
        } catch (const Error& e) {
            throw UsageError(e.what());
        }
    }
    hub::HubOptions options;
    options.revision = revision;
    for (const std::string& text : uris) {
        hub::HubUri uri = hub::parse_uri(text);
        if (!revision.empty()) uri.revision = revision;
        fs::path local = hub::download(text, options);
        if (output) local = export_to(uri, local, *output);
        fmt::print("{}\n", local.string());
    }
    return 0;
}

}  // namespace apr::cli
