/* libapr's stable, flat C ABI.
 *
 * Conventions (kept for every function, now and later):
 *  - Objects are opaque handles. Every apr_<object>_create/open has an
 *    apr_<object>_free that accepts NULL.
 *  - Every fallible call returns apr_status; APR_OK is 0. After a failure,
 *    apr_last_error() returns a message for the calling thread (valid until
 *    that thread's next libapr call).
 *  - Parameter structs come from apr_<object>_default_params(), are passed by
 *    pointer, start with their own size (struct_size) and only ever grow at
 *    the end, so old binaries keep working against newer libraries.
 *  - Strings are UTF-8, NUL-terminated. Each comment says who owns what.
 */
#ifndef APR_H
#define APR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(APR_BUILDING_LIBRARY) && !defined(APR_STATIC)
#define APR_C_API __attribute__((visibility("default")))
#else
#define APR_C_API
#endif

#define APR_VERSION_MAJOR 0
#define APR_VERSION_MINOR 1
#define APR_VERSION_PATCH 0
#define APR_VERSION_NUMBER (APR_VERSION_MAJOR * 10000 + APR_VERSION_MINOR * 100 + APR_VERSION_PATCH)

/* ---- status and errors --------------------------------------------------- */

typedef enum apr_status {
    APR_OK = 0,
    APR_ERR_INVALID_ARGUMENT = 1,
    APR_ERR_IO = 2,
    APR_ERR_BAD_FORMAT = 3,
    APR_ERR_UNSUPPORTED = 4,
    APR_ERR_OUT_OF_MEMORY = 5,
    APR_ERR_CONTEXT_OVERFLOW = 6,
    APR_ERR_CANCELLED = 7,
    APR_ERR_NOT_FOUND = 8,
    APR_ERR_INTERNAL = 9
} apr_status;

/* Static name of a status code, e.g. "bad_format". Never NULL. */
APR_C_API const char* apr_status_str(apr_status status);

/* Message of the calling thread's last failed call ("" if none). Owned by
 * libapr; valid until the thread's next libapr call. */
APR_C_API const char* apr_last_error(void);

/* ---- version ------------------------------------------------------------- */

/* Run-time version as APR_VERSION_NUMBER would spell it. */
APR_C_API int apr_version_number(void);
/* "0.1.0". Static storage. */
APR_C_API const char* apr_version_string(void);
/* One line on how the library was built. Static storage, thread-safe. */
APR_C_API const char* apr_build_info(void);

#ifdef __cplusplus
}
#endif

#endif /* APR_H */
