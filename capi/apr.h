/* libapr's stable, flat C ABI (installed as <apr/apr.h>).
 *
 * Conventions, kept for every function now and later:
 *  - Objects are opaque handles. Every apr_<object>_create/open/load has an
 *    apr_<object>_free that accepts NULL.
 *  - Every fallible call returns an apr_status (int32_t); APR_OK is 0. After
 *    a failure apr_last_error() holds a message for the calling thread. No
 *    C++ exception crosses this boundary and nothing here aborts the process.
 *  - Output handles (*out) are set to NULL on entry; result structs are
 *    zeroed on entry (all but struct_size), so a failed call leaves nothing
 *    to free.
 *  - Parameter and result structs start with their own size (struct_size),
 *    are passed by pointer and only ever grow at the end. Fill parameters with
 *    apr_<object>_default_params() after setting struct_size = sizeof(...).
 *    libapr reads only the fields an older caller's struct_size covers (the
 *    rest keep their defaults), refuses a struct_size below the first field
 *    or in the middle of a field (APR_ERR_INVALID_ARGUMENT), and refuses a
 *    newer caller's non-zero bytes past the fields this library knows
 *    (APR_ERR_UNSUPPORTED: a set field this version would silently ignore).
 *    Structs passed in arrays (apr_chat_message) are frozen: they never grow.
 *  - Strings are UTF-8. Inputs are NUL-terminated unless a length is given.
 *    Text handed back comes with its length (a token may decode to a 0x00
 *    byte) and is also NUL-terminated. Each comment says who owns what.
 *  - Callbacks run on the thread that made the call, before it returns. A
 *    callback must not call back into libapr with the handle the running call
 *    uses (other handles are fine).
 *  - Thread-safety is stated for each handle below. apr_last_error() is per
 *    thread. Functions without a handle are thread-safe.
 *
 * Names: the apr_ / APR_ prefix is the project's, but no symbol, macro or
 * include guard here equals one of the Apache Portable Runtime's (libapr-1),
 * so a process may load both; test/c_abi checks it against Debian's libapr1-dev.
 */
#ifndef LIBAPR_C_API_H_INCLUDED
#define LIBAPR_C_API_H_INCLUDED

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

/* Compile-time version of this header; apr_version_number() is the library's. */
#define APR_VERSION_MAJOR 0
#define APR_VERSION_MINOR 1
#define APR_VERSION_PATCH 0
#define APR_VERSION_NUMBER (APR_VERSION_MAJOR * 10000 + APR_VERSION_MINOR * 100 + APR_VERSION_PATCH)

/* ---- status and errors --------------------------------------------------- */

/* Every fallible function returns one of the apr_status_code values. */
typedef int32_t apr_status;
enum apr_status_code {
    APR_OK = 0,
    APR_ERR_INVALID_ARGUMENT = 1, /* a value passed in is out of range or malformed */
    APR_ERR_IO = 2,               /* the operating system refused a read, write, open or map */
    APR_ERR_BAD_FORMAT = 3,       /* a model, tokenizer, template or state file is malformed */
    APR_ERR_UNSUPPORTED = 4,      /* well-formed but not handled (also: a struct field this version lacks) */
    APR_ERR_OUT_OF_MEMORY = 5,
    APR_ERR_CONTEXT_OVERFLOW = 6, /* a session has no room for the tokens */
    APR_ERR_CANCELLED = 7,        /* a progress callback asked to stop */
    APR_ERR_NOT_FOUND = 8,        /* a file, tensor, key or token does not exist */
    APR_ERR_INTERNAL = 9          /* a bug in libapr: please report it */
};

/* Static lower-case name of a status, e.g. "bad_format"; "unknown" for
 * values outside the list. Never NULL. */
APR_C_API const char* apr_status_str(apr_status status);

/* Message of the calling thread's last failed call ("" after a success).
 * Owned by libapr; valid until the thread's next libapr call. */
APR_C_API const char* apr_last_error(void);

/* ---- version ------------------------------------------------------------- */

/* Run-time version, spelled as APR_VERSION_NUMBER: 10000*major + 100*minor + patch. */
APR_C_API int32_t apr_version_number(void);
/* "0.1.0". Static storage. */
APR_C_API const char* apr_version_str(void);
/* One line on how the library was built (compiler, CUDA, SIMD levels). Static storage. */
APR_C_API const char* apr_build_info(void);

/* Frees a string libapr allocated for the caller; NULL is ignored. */
APR_C_API void apr_string_free(char* text);
/* Frees a token array libapr allocated for the caller; NULL is ignored. */
APR_C_API void apr_tokens_free(int32_t* tokens);

/* ---- model files --------------------------------------------------------- */

/* A model file opened for reading: a GGUF file, a SafeTensors file or a
 * Hugging Face model folder; tensor data stays memory-mapped.
 * Thread-safety: immutable; any number of threads may read one handle. */
typedef struct apr_model_file apr_model_file;

/* Opens `path`, choosing the reader by content. On success the caller owns
 * *out (free with apr_model_file_free); on failure *out is NULL and
 * apr_last_error() names the path and the field at fault. */
APR_C_API apr_status apr_model_file_open(const char* path, apr_model_file** out);
/* Closes the file; NULL is ignored. Strings returned by accessors die with it. */
APR_C_API void apr_model_file_free(apr_model_file* file);

/* "gguf", "safetensors" or "hf_directory". Static storage. */
APR_C_API const char* apr_model_file_format(const apr_model_file* file);
/* "qwen2", "llama", ... ("" when unknown). Owned by the handle. */
APR_C_API const char* apr_model_file_architecture(const apr_model_file* file);

/* Hyperparameters (an output struct: set struct_size, libapr fills the rest). */
typedef struct apr_model_config {
    size_t struct_size;
    int64_t hidden_size;
    int64_t num_layers;
    int64_t num_heads;
    int64_t num_kv_heads;
    int64_t head_dim;
    int64_t intermediate_size;
    int64_t vocab_size;         /* rows of the token embedding */
    int64_t context_length;     /* trained maximum positions (0 when the file does not say) */
    double rope_theta;
    double rms_norm_eps;
    int32_t tied_embeddings;    /* 1 when the LM head reuses the token embedding */
    int32_t attention_bias;     /* 1 when q/k/v projections carry biases */
    int32_t bos_token_id;       /* -1 when none */
    int32_t pad_token_id;       /* -1 when none */
    int32_t eos_token_id;       /* the first end-of-generation id, -1 when none */
    int32_t eos_token_count;    /* how many end-of-generation ids the config lists */
} apr_model_config;

APR_C_API apr_status apr_model_file_config(const apr_model_file* file, apr_model_config* out);

/* Number of tensors (0 for a vocabulary-only file). */
APR_C_API size_t apr_model_file_tensor_count(const apr_model_file* file);

/* One tensor (an output struct). */
typedef struct apr_tensor_info {
    size_t struct_size;
    const char* name;           /* canonical name ("blk.0.attn_q.weight"); owned by the handle */
    const char* source_name;    /* the name in the file; owned by the handle */
    const char* type;           /* "F32", "Q4_K", ...; static storage */
    int32_t n_dims;             /* 1..4 (up to 8 for SafeTensors) */
    int64_t shape[8];           /* outermost dimension first; unused entries are 0 */
    uint64_t n_bytes;
} apr_tensor_info;

/* Tensor `index` in file order; APR_ERR_INVALID_ARGUMENT past the end. */
APR_C_API apr_status apr_model_file_tensor_info(const apr_model_file* file, size_t index, apr_tensor_info* out);

/* The JSON object `apr inspect --json` prints. *out_json is a new
 * NUL-terminated string the caller frees with apr_string_free. */
APR_C_API apr_status apr_model_file_inspect_json(const apr_model_file* file, char** out_json);

/* ---- models --------------------------------------------------------------- */

/* A model loaded for inference: weights bound to a device plus its tokenizer.
 * Thread-safety: immutable after load; several threads may use one model at
 * once, each through its own session. Reference counted: sessions,
 * tokenizers and chat templates made from it keep what they need alive, so
 * apr_model_free may come before or after freeing them. */
typedef struct apr_model apr_model;

enum apr_device {
    APR_DEVICE_CPU = 0,
    APR_DEVICE_CUDA = 1
};

/* Called during apr_model_load with progress from 0 to 1 (the last call is
 * 1.0). Return nonzero to go on, 0 to cancel the load (APR_ERR_CANCELLED). */
typedef int32_t (*apr_progress_callback)(float progress, void* user_data);

typedef struct apr_model_params {
    size_t struct_size;           /* sizeof(apr_model_params) */
    int32_t n_threads;            /* CPU threads; 0 = every hardware thread */
    /* since 0.1.0 (second layout); new fields never reuse the padding of an older layout */
    apr_progress_callback progress_callback;  /* optional */
    void* progress_user_data;
    int32_t device;               /* an apr_device; APR_DEVICE_CPU (default) */
} apr_model_params;

/* Fills *params with the defaults. Set params->struct_size first; fields
 * beyond it are not written. NULL is ignored. */
APR_C_API void apr_model_default_params(apr_model_params* params);

/* Loads a GGUF file, a SafeTensors file or a Hugging Face folder. params may
 * be NULL (defaults). On success the caller owns *out (free with
 * apr_model_free); on failure *out is NULL and apr_last_error() says why. */
APR_C_API apr_status apr_model_load(const char* path, const apr_model_params* params, apr_model** out);
/* Drops the caller's reference; NULL is ignored. The model goes when the
 * last session, tokenizer or chat template made from it is freed too. */
APR_C_API void apr_model_free(apr_model* model);

/* Rows of the logits (the embedding's vocabulary size); 0 for NULL. */
APR_C_API int64_t apr_model_vocab_size(const apr_model* model);
/* "qwen2", "llama", ... Owned by the model. */
APR_C_API const char* apr_model_architecture(const apr_model* model);
/* Threads the model computes with; 0 for NULL. */
APR_C_API int32_t apr_model_n_threads(const apr_model* model);
/* The apr_device it runs on. */
APR_C_API int32_t apr_model_device(const apr_model* model);
/* The model's hyperparameters (an output struct). */
APR_C_API apr_status apr_model_get_config(const apr_model* model, apr_model_config* out);
/* Ids that end generation (config eos ids plus the tokenizer's eos and
 * end-of-turn tokens), sorted. *out_ids is owned by the model. */
APR_C_API apr_status apr_model_end_token_ids(const apr_model* model, const int32_t** out_ids, size_t* out_count);

/* ---- tokenizers ------------------------------------------------------------ */

/* Byte-level BPE tokenizer. Thread-safety: immutable (an internal cache is
 * locked); any number of threads may use one handle at once. */
typedef struct apr_tokenizer apr_tokenizer;

/* From a GGUF file, a tokenizer.json or a Hugging Face folder. */
APR_C_API apr_status apr_tokenizer_open(const char* path, apr_tokenizer** out);
/* The model's tokenizer, as a new handle the caller frees (it outlives the
 * model if need be). APR_ERR_NOT_FOUND when the model file has none. */
APR_C_API apr_status apr_model_get_tokenizer(const apr_model* model, apr_tokenizer** out);
APR_C_API void apr_tokenizer_free(apr_tokenizer* tokenizer);

/* Token ids of text[0..text_len). parse_special: control tokens written in
 * the text ("<|im_start|>") become their ids. No BOS is added. *out_ids (free
 * with apr_tokens_free; NULL when *out_count is 0) and *out_count. */
APR_C_API apr_status apr_tokenize(const apr_tokenizer* tokenizer, const char* text, size_t text_len,
                                  int32_t parse_special, int32_t** out_ids, size_t* out_count);
/* Text of ids (invalid UTF-8 becomes U+FFFD); skip_special leaves control
 * tokens out. *out_text (free with apr_string_free) holds *out_len bytes plus
 * a NUL. APR_ERR_INVALID_ARGUMENT names the first id out of range. */
APR_C_API apr_status apr_detokenize(const apr_tokenizer* tokenizer, const int32_t* ids, size_t count,
                                    int32_t skip_special, char** out_text, size_t* out_len);
/* The raw bytes one token decodes to (may be part of a UTF-8 character, or
 * contain 0x00). *out_piece (free with apr_string_free), *out_len bytes. */
APR_C_API apr_status apr_token_to_piece(const apr_tokenizer* tokenizer, int32_t id, char** out_piece,
                                        size_t* out_len);
/* The id of a vocabulary entry as stored ("<|im_end|>", "Ġthe");
 * APR_ERR_NOT_FOUND when absent. */
APR_C_API apr_status apr_token_from_piece(const apr_tokenizer* tokenizer, const char* piece, int32_t* out_id);
APR_C_API int64_t apr_tokenizer_vocab_size(const apr_tokenizer* tokenizer);
/* Special ids; -1 when the tokenizer has none. */
APR_C_API int32_t apr_tokenizer_bos_id(const apr_tokenizer* tokenizer);
APR_C_API int32_t apr_tokenizer_eos_id(const apr_tokenizer* tokenizer);
APR_C_API int32_t apr_tokenizer_pad_id(const apr_tokenizer* tokenizer);
/* 1 when prompts should start with the BOS id. */
APR_C_API int32_t apr_tokenizer_add_bos(const apr_tokenizer* tokenizer);
/* 1 for control (special) tokens such as <|im_end|>, 0 otherwise and for bad ids. */
APR_C_API int32_t apr_tokenizer_is_control(const apr_tokenizer* tokenizer, int32_t id);

/* ---- chat templates -------------------------------------------------------- */

/* The Jinja2 chat template a model ships (or ChatML when it has none).
 * Thread-safety: immutable; renders may run on several threads at once. */
typedef struct apr_chat_template apr_chat_template;

/* One message. Frozen: this struct never grows (it travels in arrays). */
typedef struct apr_chat_message {
    const char* role;             /* "system", "user", "assistant", "tool" */
    const char* content;          /* NULL = empty */
    const char* tool_calls_json;  /* a JSON array of tool calls, or NULL */
} apr_chat_message;

/* The model's template. When it is a fallback, apr_chat_template_warning() says why. */
APR_C_API apr_status apr_model_get_chat_template(const apr_model* model, apr_chat_template** out);
/* A template from Jinja2 source; bos/eos may be NULL. APR_ERR_BAD_FORMAT with line:column. */
APR_C_API apr_status apr_chat_template_from_source(const char* jinja_source, const char* bos_token,
                                                   const char* eos_token, apr_chat_template** out);
APR_C_API void apr_chat_template_free(apr_chat_template* tmpl);
/* "" unless the template is a fallback or came with a caveat. Owned by the handle. */
APR_C_API const char* apr_chat_template_warning(const apr_chat_template* tmpl);

/* Renders the prompt for messages[0..count) as transformers'
 * apply_chat_template does. tools_json: a JSON array of tool definitions, or
 * NULL. *out_text (free with apr_string_free) holds *out_len bytes plus a NUL. */
APR_C_API apr_status apr_chat_template_render(const apr_chat_template* tmpl, const apr_chat_message* messages,
                                              size_t count, int32_t add_generation_prompt, const char* tools_json,
                                              char** out_text, size_t* out_len);
/* Same with the messages as a JSON array ([{"role": ..., "content": ...}, ...]). */
APR_C_API apr_status apr_chat_template_render_json(const apr_chat_template* tmpl, const char* messages_json,
                                                   int32_t add_generation_prompt, const char* tools_json,
                                                   char** out_text, size_t* out_len);

/* ---- sessions ---------------------------------------------------------------- */

/* One conversation: a KV cache and a position on a model.
 * Thread-safety: one thread at a time per session (calls on one session must
 * not overlap); different sessions may run on different threads at once. */
typedef struct apr_session apr_session;

/* KV-cache types for apr_session_params.kv_type. */
enum apr_kv_type {
    APR_KV_DEFAULT = 0,  /* the model's default (see docs/c-api.md) */
    APR_KV_F32 = 1,
    APR_KV_F16 = 2,
    APR_KV_Q8_0 = 3
};

typedef struct apr_session_params {
    size_t struct_size;       /* sizeof(apr_session_params) */
    int64_t context_length;   /* KV-cache positions; 0 = the model's; more than the trained context is an error */
    int32_t kv_cache_f32;     /* 1 = f32 KV cache when kv_type is APR_KV_DEFAULT (first layout) */
    int64_t batch_size;       /* most prompt tokens per forward pass (default 256) */
    /* since 0.1.0 (second layout) */
    int32_t kv_type;          /* an apr_kv_type */
} apr_session_params;

/* Fills *params with the defaults (set struct_size first). */
APR_C_API void apr_session_default_params(apr_session_params* params);
/* Creates a session on `model` (params may be NULL). The caller owns *out;
 * the session holds a reference to the model. */
APR_C_API apr_status apr_session_create(apr_model* model, const apr_session_params* params, apr_session** out);
/* Frees the session (and its model reference); NULL is ignored. */
APR_C_API void apr_session_free(apr_session* session);
/* Forgets the conversation (position 0). */
APR_C_API void apr_session_reset(apr_session* session);
/* Tokens held in the session's KV cache (the next token's position). */
APR_C_API int64_t apr_session_position(const apr_session* session);
/* Positions the session holds at most. */
APR_C_API int64_t apr_session_context_length(const apr_session* session);
/* Keeps the first `length` positions (0 <= length <= position). */
APR_C_API apr_status apr_session_truncate(apr_session* session, int64_t length);

/* Appends tokens[0..count) and points *out_logits at the vocab_size logits
 * after the last one (owned by the session, valid until its next call).
 * APR_ERR_CONTEXT_OVERFLOW leaves the session unchanged. */
APR_C_API apr_status apr_session_evaluate(apr_session* session, const int32_t* tokens, size_t count,
                                          const float** out_logits);
/* Continuous batching: appends tokens[i] to sessions[i] for every i < count
 * in one forward pass and writes count rows of vocab_size logits to
 * out_logits (caller's buffer of count * vocab_size floats). The sessions
 * must be distinct and share one model; on failure none changes. */
APR_C_API apr_status apr_evaluate_batch(apr_session* const* sessions, const int32_t* tokens, size_t count,
                                        float* out_logits);

/* Saves the conversation to `path` (the token ids it holds and the model's
 * shape); loading re-evaluates them, which gives the same cache and the same
 * next tokens. Overwrites `path` only once the whole file is written. */
APR_C_API apr_status apr_session_save_state(const apr_session* session, const char* path);
/* Replaces the session's conversation with a saved one. APR_ERR_BAD_FORMAT
 * for a damaged file or one saved from another model's shape (the session
 * is then unchanged). */
APR_C_API apr_status apr_session_load_state(apr_session* session, const char* path);

/* ---- tracing observer ---------------------------------------------------------- */

/* Op kinds of apr_op_event.op. */
enum apr_op_kind {
    APR_OP_EMBED = 0,
    APR_OP_RMSNORM = 1,
    APR_OP_MATMUL = 2,
    APR_OP_BIAS = 3,
    APR_OP_ROPE = 4,
    APR_OP_ATTENTION = 5,
    APR_OP_SWIGLU = 6,
    APR_OP_ADD = 7,
    APR_OP_LM_HEAD = 8
};
/* "embed", "matmul", ... ("unknown" outside the list). Static storage. */
APR_C_API const char* apr_op_kind_name(int32_t op);

/* Stages of apr_layer_event.stage. */
enum apr_layer_stage {
    APR_STAGE_EMBEDDING = 0,    /* layer -1 */
    APR_STAGE_BLOCK_OUTPUT = 1, /* layers 0..n-1 */
    APR_STAGE_FINAL_NORM = 2    /* layer n; only the rows whose logits are wanted */
};

/* Events point into libapr's buffers: valid only during the callback. */
typedef struct apr_op_event {
    size_t struct_size;       /* sizeof(apr_op_event) as libapr knows it: read fields only below it */
    int32_t op;               /* an apr_op_kind */
    int32_t layer;            /* -1 outside the transformer blocks */
    const char* name;         /* weight or op name, name_len bytes (not NUL-terminated) */
    size_t name_len;
    const float* output;      /* rows x cols, row-major, host memory; NULL on a device backend unless
                                 apr_observer.wants_outputs */
    int64_t rows;             /* tokens in the batch */
    int64_t cols;
    /* Tracing fields (present when struct_size covers them): */
    const char* weight_type;  /* the weight's stored type ("Q4_K", ...: matmul, lm_head, embed; "F32" otherwise);
                                 NUL-terminated, static storage */
    int64_t weight_rows;      /* the weight's shape, out x in (0 where the op has no weight) */
    int64_t weight_cols;
    const char* kernel;       /* the kernel that ran ("avx2 Q4_K x Q8_K"), kernel_len bytes; static storage */
    size_t kernel_len;
    double ms;                /* the op's time: host clock on the CPU, device events on a GPU */
} apr_op_event;

typedef struct apr_layer_event {
    size_t struct_size;       /* sizeof(apr_layer_event) as libapr knows it */
    int32_t stage;            /* an apr_layer_stage */
    int32_t layer;
    const float* hidden;      /* rows x cols, row-major, host memory */
    int64_t rows;
    int64_t cols;             /* hidden size */
    const int32_t* positions; /* position of each row of the batch (for the final norm: of the whole batch) */
} apr_layer_event;

/* One forward pass: a prompt batch or a decode step (or a batched step of
 * several sessions, reported to the first session's observer). */
typedef struct apr_batch_event {
    size_t struct_size;       /* sizeof(apr_batch_event) as libapr knows it */
    int64_t rows;             /* tokens in the pass */
    const int32_t* positions; /* position of each row */
    int64_t sequences;        /* sessions in the pass (1 for one session) */
    int64_t layers;           /* transformer blocks the pass runs */
    double ms;                /* the pass's time (in on_batch_end; 0 in on_batch_begin) */
} apr_batch_event;

/* Phases of a generation (apr_observer.on_phase). */
enum apr_generation_phase {
    APR_PHASE_PROMPT = 0,     /* the forward passes that read the prompt */
    APR_PHASE_DECODE = 1      /* one pass per generated token */
};

typedef struct apr_tokenize_event {
    size_t struct_size;       /* sizeof(apr_tokenize_event) as libapr knows it */
    size_t text_bytes;        /* the prompt text's length */
    int64_t tokens;           /* the ids it became */
    double ms;
} apr_tokenize_event;

typedef struct apr_sample_event {
    size_t struct_size;       /* sizeof(apr_sample_event) as libapr knows it */
    int64_t step;             /* 0 for the first generated token */
    int32_t token;            /* the chosen id */
    const float* logits;      /* the vocab raw logits it was chosen from (host memory) */
    int64_t vocab;
    double ms;                /* time in the sampler */
} apr_sample_event;

/* Function pointers plus user data; any pointer may be NULL. The fields
 * after user_data came with the tracing events: a caller compiled against
 * the header without them passes its smaller struct_size and gets on_op and
 * on_layer as before. */
typedef struct apr_observer {
    size_t struct_size;       /* sizeof(apr_observer) */
    void (*on_op)(const apr_op_event* event, void* user_data);
    void (*on_layer)(const apr_layer_event* event, void* user_data);
    void* user_data;
    void (*on_batch_begin)(const apr_batch_event* event, void* user_data);
    void (*on_batch_end)(const apr_batch_event* event, void* user_data);
    void (*on_phase)(int32_t phase, void* user_data);  /* an apr_generation_phase, before its passes */
    void (*on_tokenize)(const apr_tokenize_event* event, void* user_data);
    void (*on_sample)(const apr_sample_event* event, void* user_data);
    /* Nonzero: op outputs and hidden states are copied to host memory even
     * on a device backend (slow; for activation statistics). */
    int32_t wants_outputs;
} apr_observer;

/* Sets (observer != NULL, copied) or removes (NULL) the session's observer.
 * Its callbacks run on the thread evaluating the session, during the call. */
APR_C_API apr_status apr_session_set_observer(apr_session* session, const apr_observer* observer);

/* ---- generation ------------------------------------------------------------------ */

enum apr_finish_reason {
    APR_FINISH_STOP = 0,      /* an end token or a stop string */
    APR_FINISH_LENGTH = 1,    /* max_tokens or the end of the context */
    APR_FINISH_CANCELLED = 2  /* a callback returned 0, abort_callback returned nonzero, or *cancel was set */
};

/* Return nonzero to stop. Polled before the prompt, between prompt batches
 * and before every generated token. */
typedef int32_t (*apr_abort_callback)(void* user_data);

/* Called once per generated token with the text it completes (text_len
 * bytes, not NUL-terminated, may be 0; valid only during the call) and
 * is_end = 1 for an end token. Return nonzero to go on, 0 to stop. */
typedef int32_t (*apr_token_callback)(int32_t token, const char* text, size_t text_len, int32_t is_end,
                                      void* user_data);

typedef struct apr_token_logprob {
    int32_t id;
    float logprob;            /* natural log-softmax of the raw logits */
} apr_token_logprob;

/* What the event callback sees for each token; valid only during the call. */
typedef struct apr_token_event {
    size_t struct_size;       /* sizeof(apr_token_event) as libapr knows it */
    int32_t token;
    int32_t is_end;
    const char* text;         /* text_len bytes, not NUL-terminated */
    size_t text_len;
    float logprob;            /* of the chosen token; 0 when logprobs is 0 */
    size_t top_count;         /* entries in top (params.logprobs, or 0) */
    const apr_token_logprob* top;  /* the most likely tokens, best first */
} apr_token_event;
/* Return nonzero to go on, 0 to stop. */
typedef int32_t (*apr_token_event_callback)(const apr_token_event* event, void* user_data);

typedef struct apr_generate_params {
    size_t struct_size;         /* sizeof(apr_generate_params) */
    int64_t max_tokens;         /* default 256; 0 evaluates the prompt only */
    double temperature;         /* 0 = greedy (default); > 0 samples; negative is APR_ERR_INVALID_ARGUMENT */
    int64_t top_k;              /* 0 = off */
    double top_p;               /* 1 = off; in (0, 1] */
    double min_p;               /* 0 = off; in [0, 1] */
    double repeat_penalty;      /* 1 = off; > 0 */
    double presence_penalty;    /* 0 = off */
    double frequency_penalty;   /* 0 = off */
    int64_t penalty_last_n;     /* recent tokens the penalties see; default 64, -1 = all */
    uint64_t seed;              /* same seed and inputs, same tokens */
    const char* const* stop_strings;  /* stop_string_count strings; borrowed for the call */
    size_t stop_string_count;
    int32_t parse_special;      /* 1 (default): "<|im_start|>" in a text prompt is a special token */
    /* Optional: set *cancel to nonzero from any thread to stop. libapr reads it
     * with an atomic acquire load; write it atomically (C11 atomic_store on an
     * _Atomic int32_t, __atomic_store_n, std::atomic_ref, or a plain aligned
     * 32-bit store from Python). A flag already set on entry returns at once
     * with APR_FINISH_CANCELLED and leaves the session untouched. */
    const int32_t* cancel;
    /* since 0.1.0 (second layout) */
    const int32_t* stop_token_ids;    /* when stop_token_id_count > 0: these end generation instead of the model's */
    size_t stop_token_id_count;
    int64_t logprobs;           /* report the top-k log-probabilities of every step; 0 = off */
    apr_abort_callback abort_callback;  /* optional; like *cancel */
    void* abort_user_data;
    apr_token_event_callback event_callback;  /* optional; per token, with log-probabilities */
    void* event_user_data;
} apr_generate_params;

/* Fills *params with the defaults (set struct_size first). */
APR_C_API void apr_generate_default_params(apr_generate_params* params);

/* An output struct: set struct_size; apr_generate zeroes the rest on entry. */
typedef struct apr_generate_result {
    size_t struct_size;         /* sizeof(apr_generate_result) */
    int32_t finish_reason;      /* an apr_finish_reason */
    int64_t prompt_tokens;
    int64_t completion_tokens;
    double prompt_ms;
    double generation_ms;
    char* text;                 /* generated text without end/control tokens, text_len bytes + NUL; owned by the result */
    int32_t* tokens;            /* completion_tokens ids (the end token included); owned by the result */
    /* since 0.1.0 (second layout) */
    size_t text_len;
    int64_t logprobs_k;         /* params.logprobs */
    float* logprobs;            /* completion_tokens log-probabilities of the chosen tokens, or NULL */
    apr_token_logprob* top_logprobs;  /* completion_tokens rows of logprobs_k entries, or NULL */
} apr_generate_result;

/* Appends `prompt` (tokenized with the model's tokenizer; BOS first when the
 * tokenizer wants one and the session is empty) to the session and generates.
 * callback, user_data, params and result may be NULL. Release the result with
 * apr_generate_result_clear. Stopping by callback, abort_callback or *cancel
 * is not an error (APR_OK, APR_FINISH_CANCELLED); stopped during the prompt,
 * the session is left as it was before the call. A prompt that does not fit
 * the context fails with APR_ERR_CONTEXT_OVERFLOW. The session ends holding
 * the prompt and every generated token but the last. */
APR_C_API apr_status apr_generate(apr_session* session, const char* prompt, const apr_generate_params* params,
                                  apr_token_callback callback, void* user_data, apr_generate_result* result);
/* Same with prompt token ids. */
APR_C_API apr_status apr_generate_tokens(apr_session* session, const int32_t* prompt, size_t prompt_len,
                                         const apr_generate_params* params, apr_token_callback callback,
                                         void* user_data, apr_generate_result* result);
/* Frees the result's arrays and sets them to NULL; NULL is ignored. */
APR_C_API void apr_generate_result_clear(apr_generate_result* result);

/* ---- samplers ----------------------------------------------------------------------- */

/* A token sampler for callers running their own loop over
 * apr_session_evaluate. Thread-safety: one thread at a time per sampler. */
typedef struct apr_sampler apr_sampler;

/* Uses the sampling fields of `params` (temperature .. seed); NULL = greedy. */
APR_C_API apr_status apr_sampler_create(const apr_generate_params* params, apr_sampler** out);
APR_C_API void apr_sampler_free(apr_sampler* sampler);
/* Picks a token from logits[0..count) (not modified). */
APR_C_API apr_status apr_sampler_sample(apr_sampler* sampler, const float* logits, size_t count, int32_t* out_token);
/* Records a token of the context (prompt or generated) for the penalties. */
APR_C_API void apr_sampler_accept(apr_sampler* sampler, int32_t token);
/* Forgets the recorded tokens and restarts the seeded generator. */
APR_C_API void apr_sampler_reset(apr_sampler* sampler);

#ifdef __cplusplus
}
#endif

#endif /* LIBAPR_C_API_H_INCLUDED */
