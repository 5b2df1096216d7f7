// apr rm URI...: remove models from the download cache.
#include <fmt/core.h>

#include "apr/error.hpp"
#include "apr/hub.hpp"
#include "commands.hpp"
#include "flags.hpp"

namespace apr::cli {

int cmd_rm(const Args& args) {
    Flags flags("apr rm", "URI...",
                "Remove models from the download cache: hf://OWNER/REPO (every revision), hf://OWNER/REPO@REV\n"
                "(one revision) or hf://OWNER/REPO/FILE (one file). Interrupted downloads go too.");
    const std::vector<std::string> uris = flags.parse(args);
    if (uris.empty()) throw UsageError("expected at least one hf:// URI");
    for (const std::string& text : uris) {
        try {
            hub::parse_uri(text);
        } catch (const Error& e) {
            throw UsageError(e.what());
        }
    }
    for (const std::string& text : uris) {
        const uint64_t freed = hub::remove_from_cache(text);
        fmt::print("removed {} ({} bytes)\n", text, freed);
    }
    return 0;
}

}  // namespace apr::cli
