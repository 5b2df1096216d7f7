/* libapr's C ABI for the model download cache (docs/download.md): hf://
 * URIs fetched from the Hugging Face Hub into a local cache, listed and
 * removed. Conventions as in apr.h (status codes, apr_last_error(), sized
 * params structs). apr_model_load and apr_model_file_open accept hf:// URIs
 * directly; these calls are for fetching ahead of time, choosing the cache,
 * endpoint or token in code, and showing progress.
 *
 * Thread safety: every function may be called from any thread; downloads of
 * the same file from several threads or processes are serialized by a file
 * lock. */
#ifndef LIBAPR_HUB_H_INCLUDED
#define LIBAPR_HUB_H_INCLUDED

#include "apr.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Called during a download, on the calling thread, with the file's path
 * inside the repository, the bytes on disk, the total (0 when unknown) and
 * the transfer's speed. Like apr_progress_callback: return nonzero to go on,
 * 0 to cancel (APR_ERR_CANCELLED; the partial file stays and a later call
 * resumes it). `file` is valid only during the call. */
typedef int32_t (*apr_hub_progress_callback)(const char* file, uint64_t done, uint64_t total,
                                             double bytes_per_second, void* user_data);

typedef struct apr_hub_params {
    size_t struct_size;       /* sizeof(apr_hub_params) */
    const char* endpoint;     /* NULL: HF_ENDPOINT, else https://huggingface.co */
    const char* token;        /* NULL: HF_TOKEN, else the huggingface_hub token file */
    const char* cache_dir;    /* NULL: APR_CACHE, else ~/.cache/apr */
    const char* revision;     /* NULL: the URI's @REV, else main */
    int32_t offline;          /* -1: HF_HUB_OFFLINE decides; 0: network allowed; 1: cache only */
    int32_t max_retries;      /* -1: APR_HUB_RETRIES, else 5 */
    int32_t retry_delay_ms;   /* -1: APR_HUB_RETRY_DELAY_MS, else 500 (doubles per retry) */
    int32_t quiet;            /* 1: no progress bar even on a terminal (when progress_callback is NULL) */
    apr_hub_progress_callback progress_callback; /* NULL: a bar on stderr when it is a terminal */
    void* progress_user_data;
} apr_hub_params;

/* Fills *params with the defaults. Set params->struct_size = sizeof(*params)
 * first; fields beyond it are not written. */
APR_C_API void apr_hub_default_params(apr_hub_params* params);

/* Downloads what `uri` names (hf://OWNER/REPO/FILE or hf://OWNER/REPO) unless
 * it is cached. params may be NULL. On success *out_path receives the local
 * path (the file, or the repository's folder) as a string the caller frees
 * with apr_string_free. Errors: APR_ERR_INVALID_ARGUMENT (malformed URI),
 * APR_ERR_NOT_FOUND (404, or offline and not cached), APR_ERR_IO (network,
 * 401/403, checksum mismatch, full disk), APR_ERR_CANCELLED. */
APR_C_API apr_status apr_hub_download(const char* uri, const apr_hub_params* params, char** out_path);

/* The path `uri` has or would have in the cache, without any download.
 * *out_path is freed with apr_string_free. */
APR_C_API apr_status apr_hub_cache_path(const char* uri, const apr_hub_params* params, char** out_path);

/* The cached models as a JSON array (see `apr list --json`); *out_json is
 * freed with apr_string_free. */
APR_C_API apr_status apr_hub_list_json(const apr_hub_params* params, char** out_json);

/* Removes a file, a revision (hf://OWNER/REPO@REV) or every revision of a
 * repository from the cache; *out_bytes (may be NULL) receives the bytes
 * freed. APR_ERR_NOT_FOUND when nothing of it was cached. */
APR_C_API apr_status apr_hub_remove(const char* uri, const apr_hub_params* params, uint64_t* out_bytes);

#ifdef __cplusplus
}
#endif

#endif /* LIBAPR_HUB_H_INCLUDED */
