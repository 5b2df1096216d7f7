/* Callers compiled against the first layout of each options struct (the
 * header of libapr 0.1.0 before the structs grew) keep working: they pass
 * their smaller struct_size, libapr reads and writes only that much, and the
 * fields they lack keep their defaults. Each v1_ struct below is the old
 * definition, field for field. Prints TAP. */
#include <stdio.h>
#include <string.h>

#include "apr.h"

#include "tap.h"

typedef struct v1_model_params {
    size_t struct_size;
    int32_t n_threads;
} v1_model_params;

typedef struct v1_session_params {
    size_t struct_size;
    int64_t context_length;
    int32_t kv_cache_f32;
    int64_t batch_size;
} v1_session_params;

typedef struct v1_generate_params {
    size_t struct_size;
    int64_t max_tokens;
    double temperature;
    int64_t top_k;
    double top_p;
    double min_p;
    double repeat_penalty;
    double presence_penalty;
    double frequency_penalty;
    int64_t penalty_last_n;
    uint64_t seed;
    const char* const* stop_strings;
    size_t stop_string_count;
    int32_t parse_special;
    const volatile int32_t* cancel;
} v1_generate_params;

typedef struct v1_generate_result {
    size_t struct_size;
    int32_t finish_reason;
    int64_t prompt_tokens;
    int64_t completion_tokens;
    double prompt_ms;
    double generation_ms;
    char* text;
    int32_t* tokens;
} v1_generate_result;

/* The observer before the tracing events (on_batch_begin ... wants_outputs). */
typedef struct v1_observer {
    size_t struct_size;
    void (*on_op)(const apr_op_event* event, void* user_data);
    void (*on_layer)(const apr_layer_event* event, void* user_data);
    void* user_data;
} v1_observer;

static void count_op(const apr_op_event* e, void* u) {
    (void)e;
    ++*(long*)u;
}

/* Each struct is followed by canary bytes libapr must never touch. */
#define CANARY 0x5A
#define WITH_CANARY(T) \
    struct {           \
        T s;           \
        unsigned char canary[64]; \
    }
static int canary_intact(const unsigned char* c) {
    int i;
    for (i = 0; i < 64; ++i)
        if (c[i] != CANARY) return 0;
    return 1;
}

int main(void) {
    WITH_CANARY(v1_model_params) mp;
    WITH_CANARY(v1_session_params) sp;
    WITH_CANARY(v1_generate_params) gp;
    WITH_CANARY(v1_generate_result) gr;
    apr_model* model = NULL;
    apr_session* session = NULL;
    const char* prompt =
        "<|im_start|>user\nWhat is 2+2? Answer with just the number.<|im_end|>\n<|im_start|>assistant\n";
    const char* stops[1] = {"\n\n"};

    check(sizeof(v1_model_params) == 16 && sizeof(v1_session_params) == 32 && sizeof(v1_generate_params) == 120 &&
              sizeof(v1_generate_result) == 64,
          "the first layouts have their old sizes (16, 32, 120, 64 bytes)");
    check(sizeof(apr_model_params) > 16 && sizeof(apr_session_params) > 32 && sizeof(apr_generate_params) > 120 &&
              sizeof(apr_generate_result) > 64,
          "the current structs are larger");

    memset(&mp, CANARY, sizeof(mp));
    mp.s.struct_size = sizeof(mp.s);
    apr_model_default_params((apr_model_params*)&mp.s);
    check(mp.s.n_threads == 0 && canary_intact(mp.canary), "model defaults fill the old struct and nothing past it");
    mp.s.n_threads = 2;
    check(apr_model_load(APR_TEST_MODELS_DIR "/nano/nano-q4_k_m.gguf", (const apr_model_params*)&mp.s, &model) == APR_OK,
          "apr_model_load takes the old model params");

    memset(&sp, CANARY, sizeof(sp));
    sp.s.struct_size = sizeof(sp.s);
    apr_session_default_params((apr_session_params*)&sp.s);
    check(sp.s.context_length == 0 && sp.s.kv_cache_f32 == 0 && sp.s.batch_size == 256 && canary_intact(sp.canary),
          "session defaults fill the old struct and nothing past it");
    sp.s.context_length = 512;
    check(model != NULL && apr_session_create(model, (const apr_session_params*)&sp.s, &session) == APR_OK &&
              apr_session_context_length(session) == 512,
          "apr_session_create takes the old session params");

    memset(&gp, CANARY, sizeof(gp));
    gp.s.struct_size = sizeof(gp.s);
    apr_generate_default_params((apr_generate_params*)&gp.s);
    check(gp.s.max_tokens == 256 && gp.s.temperature == 0.0 && gp.s.top_p == 1.0 && gp.s.parse_special == 1 &&
              gp.s.cancel == NULL && canary_intact(gp.canary),
          "generate defaults fill the old struct and nothing past it");
    gp.s.max_tokens = 8;
    gp.s.stop_strings = stops;
    gp.s.stop_string_count = 1;

    memset(&gr, CANARY, sizeof(gr));
    gr.s.struct_size = sizeof(gr.s);
    check(session != NULL &&
              apr_generate(session, prompt, (const apr_generate_params*)&gp.s, NULL, NULL,
                           (apr_generate_result*)&gr.s) == APR_OK,
          "apr_generate takes the old generate params and result");
    check(gr.s.text != NULL && strcmp(gr.s.text, "4") == 0 && gr.s.finish_reason == APR_FINISH_STOP &&
              gr.s.completion_tokens == 2 && gr.s.tokens != NULL,
          "the old result gets the answer 4 and its tokens");
    check(canary_intact(gr.canary), "nothing is written past the old result (no text_len, no logprobs)");
    apr_generate_result_clear((apr_generate_result*)&gr.s);
    check(gr.s.text == NULL && gr.s.tokens == NULL && canary_intact(gr.canary),
          "apr_generate_result_clear frees the old result's arrays only");

    /* The canary after the old observer reads as non-NULL callbacks: libapr
     * must not take them for on_batch_begin and the rest. */
    {
        WITH_CANARY(v1_observer) ob;
        long ops = 0;
        memset(&ob, CANARY, sizeof(ob));
        ob.s.struct_size = sizeof(ob.s);
        ob.s.on_op = count_op;
        ob.s.on_layer = NULL;
        ob.s.user_data = &ops;
        check(sizeof(v1_observer) == 32 && sizeof(apr_observer) > 32, "the first observer layout has 32 bytes");
        check(session != NULL && apr_session_set_observer(session, (const apr_observer*)&ob.s) == APR_OK,
              "apr_session_set_observer takes the old observer");
        gp.s.max_tokens = 2;
        check(session != NULL &&
                  apr_generate(session, " x", (const apr_generate_params*)&gp.s, NULL, NULL, NULL) == APR_OK &&
                  ops > 0,
              "its on_op sees the ops and nothing past it is called");
        apr_session_set_observer(session, NULL);
    }

    apr_session_free(session);
    apr_model_free(model);
    return tap_done();
}
