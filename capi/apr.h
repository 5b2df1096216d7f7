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

/* ---- model files --------------------------------------------------------- */

/* A model file opened for reading: a GGUF file, a SafeTensors file or a
 * Hugging Face model folder. Tensor data stays memory-mapped. A handle may be
 * read from several threads at once; nothing here modifies it. */
typedef struct apr_model_file apr_model_file;

/* Opens `path` (UTF-8), choosing the reader by content. On success *out
 * receives a handle the caller owns (free with apr_model_file_free); on
 * failure *out is set to NULL and apr_last_error() names the path and the
 * field at fault. */
APR_C_API apr_status apr_model_file_open(const char* path, apr_model_file** out);
/* Closes the file; NULL is ignored. Strings returned by accessors die with it. */
APR_C_API void apr_model_file_free(apr_model_file* file);

/* "gguf", "safetensors" or "hf_directory". Static storage. */
APR_C_API const char* apr_model_file_format(const apr_model_file* file);
/* "qwen2", "llama", ... ("" when unknown). Owned by the handle. */
APR_C_API const char* apr_model_file_architecture(const apr_model_file* file);

/* Hyperparameters. Set struct_size = sizeof(apr_model_config) before the
 * call; fields beyond an older caller's struct_size are not written. The
 * struct only ever grows at the end. */
typedef struct apr_model_config {
    size_t struct_size;
    int64_t hidden_size;
    int64_t num_layers;
    int64_t num_heads;
    int64_t num_kv_heads;
    int64_t head_dim;
    int64_t intermediate_size;
    int64_t vocab_size;         /* rows of the token embedding */
    int64_t context_length;
    double rope_theta;
    double rms_norm_eps;
    int32_t tied_embeddings;    /* 1 when the LM head reuses the token embedding */
    int32_t attention_bias;     /* 1 when q/k/v projections carry biases */
    int32_t bos_token_id;       /* -1 when none */
    int32_t pad_token_id;       /* -1 when none */
    int32_t eos_token_id;       /* the first end-of-generation id, -1 when none */
    int32_t eos_token_count;    /* how many end-of-generation ids there are */
} apr_model_config;

APR_C_API apr_status apr_model_file_config(const apr_model_file* file, apr_model_config* out);

/* Number of tensors (0 for a vocabulary-only file). */
APR_C_API size_t apr_model_file_tensor_count(const apr_model_file* file);

/* One tensor, by index in file order. Set struct_size before the call. */
typedef struct apr_tensor_info {
    size_t struct_size;
    const char* name;           /* canonical name ("blk.0.attn_q.weight"); owned by the handle */
    const char* source_name;    /* the name in the file; owned by the handle */
    const char* type;           /* "F32", "Q4_K", ...; static storage */
    int32_t n_dims;             /* 1..4 (up to 8 for SafeTensors) */
    int64_t shape[8];           /* outermost dimension first; unused entries are 0 */
    uint64_t n_bytes;
} apr_tensor_info;

/* APR_ERR_INVALID_ARGUMENT when index >= apr_model_file_tensor_count(). */
APR_C_API apr_status apr_model_file_tensor_info(const apr_model_file* file, size_t index, apr_tensor_info* out);

/* The same JSON object `apr inspect --json` prints. *out_json is a new
 * NUL-terminated string the caller frees with apr_string_free. */
APR_C_API apr_status apr_model_file_inspect_json(const apr_model_file* file, char** out_json);

/* Frees a string libapr allocated for the caller; NULL is ignored. */
APR_C_API void apr_string_free(char* text);

#ifdef __cplusplus
}
#endif

#endif /* APR_H */
