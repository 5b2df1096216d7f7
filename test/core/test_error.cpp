#include <catch2/catch.hpp>

#include "apr.h"
#include "apr/error.hpp"
#include "apr/version.hpp"

TEST_CASE("error codes keep their names and C status values") {
    apr::Error error(apr::ErrorCode::bad_format, "x.gguf: bad magic");
    CHECK(error.code() == apr::ErrorCode::bad_format);
    CHECK(std::string(error.what()) == "x.gguf: bad magic");
    CHECK(std::string(apr::error_code_name(apr::ErrorCode::context_overflow)) == "context_overflow");
    CHECK(static_cast<int>(apr::ErrorCode::internal) == APR_ERR_INTERNAL);
    CHECK(std::string(apr_status_str(APR_ERR_NOT_FOUND)) == "not_found");
    CHECK(std::string(apr_status_str(static_cast<apr_status>(99))) == "unknown");
}

TEST_CASE("the header's version macros match the library") {
    CHECK(apr_version_number() == APR_VERSION_NUMBER);
    const apr::Version v = apr::version();
    CHECK(v.major == APR_VERSION_MAJOR);
    CHECK(v.minor == APR_VERSION_MINOR);
    CHECK(std::string(apr_build_info()).find("libapr") != std::string::npos);
}
