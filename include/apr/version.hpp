// Version of the libapr the program runs against (may differ from the headers
// it was compiled with; see APR_VERSION_* in capi/apr.h for compile time).
#pragma once

#include <string>

#include "apr/export.hpp"

namespace apr {

struct Version {
    int major;
    int minor;
    int patch;
};

APR_API Version version() noexcept;
APR_API const char* version_string() noexcept;  // "0.1.0"
// One line describing how this library was built: compiler, CUDA, SIMD levels.
APR_API std::string build_info();

}  // namespace apr
