#include "apr/version.hpp"

#include <fmt/format.h>

#include "apr_build_config.h"

namespace apr {

Version version() noexcept { return {APR_VERSION_MAJOR, APR_VERSION_MINOR, APR_VERSION_PATCH}; }

const char* version_string() noexcept { return APR_VERSION_STRING; }

std::string build_info() {
    return fmt::format("libapr {} (g++ {}.{}, C++{}, cuda {})", APR_VERSION_STRING, __GNUC__, __GNUC_MINOR__,
                       __cplusplus / 100 % 100, APR_HAVE_CUDA ? "on" : "off");
}

}  // namespace apr
