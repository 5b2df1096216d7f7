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

/* ---- models, sessions, generation ---------------------------------------- */

/* A model loaded for inference: weights bound to the CPU (the file stays
 * memory-mapped) plus its tokenizer. Immutable: several threads may use one
 * model, each through its own session. */
typedef struct apr_model apr_model;
/* One conversation: a KV cache and a position. One thread at a time. */
typedef struct apr_session apr_session;

typedef struct apr_model_params {
    size_t struct_size;   /* sizeof(apr_model_params) */
    int32_t n_threads;    /* CPU threads; 0 = every hardware thread */
} apr_model_params;

/* Fills *params with the defaults. Set params->struct_size = sizeof(*params)
 * first; fields beyond it are not written. */
APR_C_API void apr_model_default_params(apr_model_params* params);

/* Loads a GGUF file, a SafeTensors file or a Hugging Face folder. params may
 * be NULL (defaults). On success *out receives a handle the caller owns (free
 * with apr_model_free); on failure *out is NULL and apr_last_error() says why. */
APR_C_API apr_status apr_model_load(const char* path, const apr_model_params* params, apr_model** out);
/* Frees the model; NULL is ignored. Free its sessions first. */
APR_C_API void apr_model_free(apr_model* model);
/* Rows of the logits (the embedding's vocabulary size). */
APR_C_API int64_t apr_model_vocab_size(const apr_model* model);

/* KV-cache types for apr_session_params.kv_type. */
typedef enum apr_kv_type {
    APR_KV_DEFAULT = 0,  /* f32 for F32/F16/BF16 weights, f16 for quantized ones */
    APR_KV_F32 = 1,
    APR_KV_F16 = 2,
    APR_KV_Q8_0 = 3
} apr_kv_type;

typedef struct apr_session_params {
    size_t struct_size;       /* sizeof(apr_session_params) */
    int64_t context_length;   /* KV-cache positions; 0 = the model's trained context (more is an error) */
    int32_t kv_cache_f32;     /* 1 = f32 KV cache when kv_type is APR_KV_DEFAULT (older callers) */
    int64_t batch_size;       /* most prompt tokens per forward pass */
    int32_t kv_type;          /* an apr_kv_type; APR_KV_DEFAULT (0) = the model's default */
} apr_session_params;

/* Fills *params with the defaults (set struct_size first). */
APR_C_API void apr_session_default_params(apr_session_params* params);
/* Creates a session on `model` (params may be NULL). The caller owns *out and
 * frees it with apr_session_free before freeing the model. */
APR_C_API apr_status apr_session_create(apr_model* model, const apr_session_params* params, apr_session** out);
/* Frees the session; NULL is ignored. */
APR_C_API void apr_session_free(apr_session* session);
/* Forgets the conversation (position 0). */
APR_C_API void apr_session_reset(apr_session* session);
/* Tokens held in the session's KV cache. */
APR_C_API int64_t apr_session_position(const apr_session* session);

typedef enum apr_finish_reason {
    APR_FINISH_STOP = 0,      /* an end token or a stop string */
    APR_FINISH_LENGTH = 1,    /* max_tokens or the end of the context */
    APR_FINISH_CANCELLED = 2  /* the callback returned 0 or *cancel became nonzero */
} apr_finish_reason;

typedef struct apr_generate_params {
    size_t struct_size;         /* sizeof(apr_generate_params) */
    int64_t max_tokens;         /* default 256 */
    double temperature;         /* <= 0: greedy (default) */
    int64_t top_k;              /* 0 = off */
    double top_p;               /* 1 = off */
    double min_p;               /* 0 = off */
    double repeat_penalty;      /* 1 = off */
    double presence_penalty;
    double frequency_penalty;
    int64_t penalty_last_n;     /* default 64 */
    uint64_t seed;
    const char* const* stop_strings;  /* stop_string_count UTF-8 strings; borrowed for the call */
    size_t stop_string_count;
    int32_t parse_special;      /* 1 (default): "<|im_start|>" in the prompt is a special token */
    const volatile int32_t* cancel;  /* optional; set *cancel nonzero from any thread to stop */
} apr_generate_params;

/* Fills *params with the defaults (set struct_size first). */
APR_C_API void apr_generate_default_params(apr_generate_params* params);

/* Called once per generated token with the text it completes (UTF-8, not
 * NUL-terminated, len may be 0; valid only during the call) and is_end = 1 for
 * an end token. Return nonzero to go on, 0 to stop. */
typedef int (*apr_token_callback)(int32_t token, const char* text, size_t len, int32_t is_end, void* user_data);

typedef struct apr_generate_result {
    size_t struct_size;         /* sizeof(apr_generate_result) */
    int32_t finish_reason;      /* apr_finish_reason */
    int64_t prompt_tokens;
    int64_t completion_tokens;
    double prompt_ms;
    double generation_ms;
    char* text;                 /* generated text without end/control tokens; owned by the result */
    int32_t* tokens;            /* completion_tokens ids (the end token included); owned by the result */
} apr_generate_result;

/* Appends `prompt` (tokenized with the model's tokenizer) to the session and
 * generates. callback and result may be NULL. When result is given, set its
 * struct_size first; release its text and tokens with
 * apr_generate_result_clear. Stopping by callback or cancel flag is not an
 * error (APR_OK, finish_reason APR_FINISH_CANCELLED). A prompt that does not
 * fit the context fails with APR_ERR_CONTEXT_OVERFLOW. */
APR_C_API apr_status apr_generate(apr_session* session, const char* prompt, const apr_generate_params* params,
                                  apr_token_callback callback, void* user_data, apr_generate_result* result);
/* Same with prompt token ids. */
APR_C_API apr_status apr_generate_tokens(apr_session* session, const int32_t* prompt, size_t prompt_len,
                                         const apr_generate_params* params, apr_token_callback callback,
                                         void* user_data, apr_generate_result* result);
/* Frees the result's text and tokens and sets them to NULL; NULL is ignored. */
APR_C_API void apr_generate_result_clear(apr_generate_result* result);

#ifdef __cplusplus
}
#endif

#endif /* APR_H */
