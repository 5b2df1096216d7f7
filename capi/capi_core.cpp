// C ABI: status names, last error, version.
#include <string>

#include "apr/error.hpp"
#include "apr/version.hpp"
#include "capi_internal.hpp"

namespace apr::capi {
namespace {
thread_local std::string last_error;
}
void set_last_error(std::string message) { last_error = std::move(message); }
void clear_last_error() { last_error.clear(); }
const char* last_error_cstr() { return last_error.c_str(); }
}  // namespace apr::capi

extern "C" {

const char* apr_status_str(apr_status status) {
    if (status < APR_OK || status > APR_ERR_INTERNAL) return "unknown";
    return apr::error_code_name(static_cast<apr::ErrorCode>(status));
}

const char* apr_last_error(void) { return apr::capi::last_error_cstr(); }

int apr_version_number(void) {
    const apr::Version v = apr::version();
    return v.major * 10000 + v.minor * 100 + v.patch;
}

const char* apr_version_string(void) { return apr::version_string(); }

const char* apr_build_info(void) {
    static const std::string info = apr::build_info();
    return info.c_str();
}

}  // extern "C"
