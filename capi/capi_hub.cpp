// C ABI: the model download cache (apr_hub.h), over apr::hub.
#include <string>

#include "apr/error.hpp"
#include "apr/hub.hpp"
#include "apr_hub.h"
#include "capi_internal.hpp"
#include "capi_sized.hpp"

namespace apr::capi {
#define F(f) APR_CAPI_FIELD(apr_hub_params, f)
template <>
struct StructLayout<apr_hub_params> {
    static constexpr const char* name = "apr_hub_params";
    static constexpr FieldSpan fields[] = {F(struct_size), F(endpoint),    F(token),          F(cache_dir),
                                           F(revision),    F(offline),     F(max_retries),    F(retry_delay_ms),
                                           F(quiet),       F(progress_callback), F(progress_user_data)};
};
#undef F
static_assert(layout_is_complete<apr_hub_params>(), "apr_hub_params: a field is missing from its StructLayout");
}  // namespace apr::capi

namespace {

using apr::capi::copy_string;
using apr::capi::require;

apr_hub_params hub_defaults() {
    apr_hub_params p{};
    p.struct_size = sizeof(p);
    p.offline = -1;
    p.max_retries = -1;
    p.retry_delay_ms = -1;
    return p;
}

// Reads only the fields the caller's struct_size covers (capi_sized.hpp), so
// binaries built against an older, shorter apr_hub_params keep working.
apr::hub::HubOptions to_options(const apr_hub_params* given) {
    const apr_hub_params p = apr::capi::read_params(given, hub_defaults(), "apr_hub_params");
    apr::hub::HubOptions o;
    if (p.endpoint) o.endpoint = p.endpoint;
    if (p.token) o.token = p.token;
    if (p.cache_dir) o.cache_dir = p.cache_dir;
    if (p.revision) o.revision = p.revision;
    if (p.offline >= 0) o.offline = p.offline != 0;
    if (p.max_retries >= 0) o.max_retries = p.max_retries;
    if (p.retry_delay_ms >= 0) o.retry_delay_ms = p.retry_delay_ms;
    if (p.progress_callback) {
        const apr_hub_progress_callback fn = p.progress_callback;
        void* user = p.progress_user_data;
        o.progress = [fn, user](const apr::hub::Progress& q) {
            return fn(q.file.c_str(), q.done, q.total, q.bytes_per_second, user) != 0;
        };
    } else if (p.quiet) {
        o.progress = [](const apr::hub::Progress&) { return true; };
    }
    return o;
}

}  // namespace

extern "C" {

void apr_hub_default_params(apr_hub_params* params) {
    apr::capi::write_defaults(params, hub_defaults(), "apr_hub_default_params");
}

apr_status apr_hub_download(const char* uri, const apr_hub_params* params, char** out_path) {
    if (out_path) *out_path = nullptr;
    return apr::capi::guarded([&] {
        require(uri != nullptr, "apr_hub_download: uri is NULL");
        require(out_path != nullptr, "apr_hub_download: out_path is NULL");
        *out_path = copy_string(apr::hub::download(uri, to_options(params)).string());
    });
}

apr_status apr_hub_cache_path(const char* uri, const apr_hub_params* params, char** out_path) {
    if (out_path) *out_path = nullptr;
    return apr::capi::guarded([&] {
        require(uri != nullptr, "apr_hub_cache_path: uri is NULL");
        require(out_path != nullptr, "apr_hub_cache_path: out_path is NULL");
        *out_path = copy_string(apr::hub::cache_path(uri, to_options(params)).string());
    });
}

apr_status apr_hub_list_json(const apr_hub_params* params, char** out_json) {
    if (out_json) *out_json = nullptr;
    return apr::capi::guarded([&] {
        require(out_json != nullptr, "apr_hub_list_json: out_json is NULL");
        *out_json = copy_string(apr::hub::list_cache_json(to_options(params)));
    });
}

apr_status apr_hub_remove(const char* uri, const apr_hub_params* params, uint64_t* out_bytes) {
    if (out_bytes) *out_bytes = 0;
    return apr::capi::guarded([&] {
        require(uri != nullptr, "apr_hub_remove: uri is NULL");
        const uint64_t freed = apr::hub::remove_from_cache(uri, to_options(params));
        if (out_bytes) *out_bytes = freed;
    });
}

}  // extern "C"
