// Implementation of apr::capi::guarded (included by capi_internal.hpp).
#include <exception>
#include <new>

#include "apr/error.hpp"

namespace apr::capi {

template <typename Body>
apr_status guarded(Body&& body) noexcept {
    try {
        clear_last_error();
        body();
        return APR_OK;
    } catch (const apr::Error& e) {
        set_last_error(e.what());
        const int code = static_cast<int>(e.code());
        return code > APR_OK && code <= APR_ERR_INTERNAL ? static_cast<apr_status>(code) : APR_ERR_INTERNAL;
    } catch (const std::bad_alloc&) {
        set_last_error("out of memory");
        return APR_ERR_OUT_OF_MEMORY;
    } catch (const std::exception& e) {
        set_last_error("internal error (please report it): ");
        append_last_error(e.what());
        return APR_ERR_INTERNAL;
    } catch (...) {
        set_last_error("internal error (please report it): unknown exception");
        return APR_ERR_INTERNAL;
    }
}

}  // namespace apr::capi
