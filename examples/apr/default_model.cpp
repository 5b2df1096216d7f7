#include <unistd.h>

#include <filesystem>

#include "apr_build_config.h"
#include "commands.hpp"

namespace apr::cli {

// The vendored model's path is baked in at build time; an installed apr also
// looks in ../share/libapr/models beside its own binary.
std::string default_model_path() {
    namespace fs = std::filesystem;
    if (fs::exists(APR_DEFAULT_MODEL_PATH)) return APR_DEFAULT_MODEL_PATH;
    std::error_code ec;
    const fs::path self = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        const fs::path installed = self.parent_path() / ".." / "share" / "libapr" / "models" / "nano-q4_k_m.gguf";
        if (fs::exists(installed)) return installed.lexically_normal().string();
    }
    return APR_DEFAULT_MODEL_PATH;
}

}  // namespace apr::cli
