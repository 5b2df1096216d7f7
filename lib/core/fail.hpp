// Internal helper: format a message and throw apr::Error in one call.
//   fail(ErrorCode::bad_format, "{}: tensor '{}' has {} dims", path, name, n);
#pragma once

#include <fmt/format.h>

#include "apr/error.hpp"

namespace apr {

template <typename... Args>
[[noreturn]] void fail(ErrorCode code, fmt::format_string<Args...> format, Args&&... args) {
    throw Error(code, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace apr
