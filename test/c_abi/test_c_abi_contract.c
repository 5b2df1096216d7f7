/* The C ABI's contract, one check per defect a stable ABI cannot ship with:
 * huge contexts are clean errors, sessions keep their model alive, results
 * are zeroed on entry, struct_size is checked (too small, mid-field, unknown
 * trailing fields), cancellation before and during the prompt, int32_t
 * statuses. Built twice: against the shared libapr, and with
 * AddressSanitizer (test_c_abi_contract_asan), so memory errors fail it.
 * Prints TAP. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apr.h"

#include "tap.h"

#define MODEL APR_TEST_MODELS_DIR "/nano/nano-q4_k_m.gguf"
static const char* const kPrompt =
    "<|im_start|>user\nWhat is 2+2? Answer with just the number.<|im_end|>\n<|im_start|>assistant\n";

static apr_model* load_model(void) {
    apr_model_params mp;
    memset(&mp, 0, sizeof(mp));
    mp.struct_size = sizeof(mp);
    apr_model_default_params(&mp);
    mp.n_threads = 2;
    apr_model* model = NULL;
    if (apr_model_load(MODEL, &mp, &model) != APR_OK) return NULL;
    return model;
}

static apr_generate_params greedy(int64_t max_tokens) {
    apr_generate_params gp;
    memset(&gp, 0, sizeof(gp));
    gp.struct_size = sizeof(gp);
    apr_generate_default_params(&gp);
    gp.max_tokens = max_tokens;
    return gp;
}

/* int32_t statuses, whatever -fshort-enums does to enums. */
static void test_types(void) {
    apr_status (*load)(const char*, const apr_model_params*, apr_model**) = apr_model_load;
    (void)load;
    check(sizeof(apr_status) == 4 && sizeof(apr_status_str(APR_OK)[0]) == 1, "apr_status is a 4-byte integer");
    check(strcmp(apr_status_str(APR_ERR_UNSUPPORTED), "unsupported") == 0 && strcmp(apr_status_str(1000), "unknown") == 0,
          "apr_status_str names codes and says unknown for others");
}

/* A huge context_length is an error naming it, not a heap overflow later. */
static void test_huge_context(apr_model* model) {
    int64_t sizes[3] = {INT64_MAX, (int64_t)1 << 40, 1000000};
    int i;
    for (i = 0; i < 3; ++i) {
        apr_session_params sp;
        memset(&sp, 0, sizeof(sp));
        sp.struct_size = sizeof(sp);
        apr_session_default_params(&sp);
        sp.context_length = sizes[i];
        apr_session* s = (apr_session*)1;
        apr_status st = apr_session_create(model, &sp, &s);
        char what[128];
        snprintf(what, sizeof(what), "context_length %lld is APR_ERR_INVALID_ARGUMENT naming the size",
                 (long long)sizes[i]);
        check(st == APR_ERR_INVALID_ARGUMENT && s == NULL && strstr(apr_last_error(), "context") != NULL, what);
        apr_session_free(s);
    }
    {
        apr_session_params sp;
        memset(&sp, 0, sizeof(sp));
        sp.struct_size = sizeof(sp);
        apr_session_default_params(&sp);
        sp.context_length = -1;
        apr_session* s = NULL;
        check(apr_session_create(model, &sp, &s) == APR_ERR_INVALID_ARGUMENT && s == NULL,
              "a negative context_length is refused");
    }
}

/* Freeing the model first: the session still works and frees cleanly. */
static void test_free_order(void) {
    apr_model* model = load_model();
    apr_session* session = NULL;
    apr_tokenizer* tok = NULL;
    apr_generate_params gp = greedy(4);
    apr_generate_result r;
    check(model != NULL && apr_session_create(model, NULL, &session) == APR_OK &&
              apr_model_get_tokenizer(model, &tok) == APR_OK,
          "a model, a session and a tokenizer");
    apr_model_free(model);
    memset(&r, 0, sizeof(r));
    r.struct_size = sizeof(r);
    check(apr_generate(session, kPrompt, &gp, NULL, NULL, &r) == APR_OK && r.text != NULL && strcmp(r.text, "4") == 0,
          "after apr_model_free the session still answers 4");
    apr_generate_result_clear(&r);
    apr_session_free(session);
    {
        int32_t* ids = NULL;
        size_t n = 0;
        check(apr_tokenize(tok, "2+2", 3, 1, &ids, &n) == APR_OK && n == 3, "the tokenizer outlives model and session");
        apr_tokens_free(ids);
    }
    apr_tokenizer_free(tok);
}

/* Failed calls leave results zeroed, so "call, then clear" frees nothing wild. */
static void test_result_zeroed(apr_model* model) {
    apr_session* session = NULL;
    apr_generate_result r;
    apr_generate_params gp = greedy(4);
    check(apr_session_create(model, NULL, &session) == APR_OK, "a session");
    memset(&r, 0xAB, sizeof(r));
    r.struct_size = sizeof(r);
    gp.temperature = -1.0;
    check(apr_generate(session, kPrompt, &gp, NULL, NULL, &r) == APR_ERR_INVALID_ARGUMENT &&
              strstr(apr_last_error(), "temperature") != NULL,
          "a negative temperature is APR_ERR_INVALID_ARGUMENT");
    check(r.text == NULL && r.tokens == NULL && r.completion_tokens == 0 && r.finish_reason == 0 && r.text_len == 0 &&
              r.logprobs == NULL && r.top_logprobs == NULL && r.struct_size == sizeof(r),
          "the failed call zeroed the result");
    apr_generate_result_clear(&r);
    memset(&r, 0xAB, sizeof(r));
    r.struct_size = sizeof(r);
    check(apr_generate(session, NULL, NULL, NULL, NULL, &r) == APR_ERR_INVALID_ARGUMENT && r.text == NULL &&
              r.tokens == NULL,
          "a NULL prompt zeroes the result too");
    apr_generate_result_clear(&r);
    {
        apr_model_config cfg;
        memset(&cfg, 0xAB, sizeof(cfg));
        cfg.struct_size = sizeof(cfg);
        check(apr_model_get_config(NULL, &cfg) == APR_ERR_INVALID_ARGUMENT && cfg.vocab_size == 0 && cfg.eos_token_id == 0,
              "apr_model_get_config zeroes its output on failure");
    }
    apr_session_free(session);
}

/* struct_size: below the first field, mid-field, garbage, unknown trailing bytes. */
static void test_struct_size(apr_model* model) {
    apr_session* session = NULL;
    check(apr_session_create(model, NULL, &session) == APR_OK, "a session");
    {
        apr_generate_params gp = greedy(2);
        gp.struct_size = 4;
        check(apr_generate(session, "Hi", &gp, NULL, NULL, NULL) == APR_ERR_INVALID_ARGUMENT &&
                  strstr(apr_last_error(), "below its first field") != NULL,
              "struct_size below the first field is refused");
        gp.struct_size = offsetof(apr_generate_params, temperature) + 3;
        check(apr_generate(session, "Hi", &gp, NULL, NULL, NULL) == APR_ERR_INVALID_ARGUMENT &&
                  strstr(apr_last_error(), "inside field 'temperature'") != NULL,
              "struct_size in the middle of a field is refused, naming it");
        gp.struct_size = 1u << 20;
        check(apr_generate(session, "Hi", &gp, NULL, NULL, NULL) == APR_ERR_INVALID_ARGUMENT,
              "an absurd struct_size (uninitialized struct) is refused");
        check(apr_session_position(session) == 0, "refused calls left the session alone");
    }
    {
        /* A newer caller: our struct plus a field this library does not know. */
        struct newer {
            apr_generate_params known;
            int64_t future_field;
        } n;
        memset(&n, 0, sizeof(n));
        n.known.struct_size = sizeof(n.known);
        apr_generate_default_params(&n.known);
        n.known.struct_size = sizeof(n);
        n.known.max_tokens = 2;
        n.future_field = 0;
        check(apr_generate(session, "Hi", &n.known, NULL, NULL, NULL) == APR_OK,
              "a newer struct whose unknown fields are zero works");
        apr_session_reset(session);
        n.future_field = 7;
        check(apr_generate(session, "Hi", &n.known, NULL, NULL, NULL) == APR_ERR_UNSUPPORTED &&
                  strstr(apr_last_error(), "newer libapr") != NULL,
              "a set field past what this library knows is APR_ERR_UNSUPPORTED, not ignored");
        check(apr_session_position(session) == 0, "and the session is untouched");
    }
    {
        struct newer {
            apr_session_params known;
            int32_t future_field;
        } n;
        apr_session* s2 = NULL;
        memset(&n, 0, sizeof(n));
        n.known.struct_size = sizeof(n);
        apr_session_default_params(&n.known);
        n.future_field = 1;
        check(apr_session_create(model, &n.known, &s2) == APR_ERR_UNSUPPORTED && s2 == NULL,
              "apr_session_create refuses unknown trailing fields too");
        n.future_field = 0;
        check(apr_session_create(model, &n.known, &s2) == APR_OK && s2 != NULL, "and accepts them zero");
        apr_session_free(s2);
    }
    {
        apr_generate_result r;
        memset(&r, 0, sizeof(r));
        r.struct_size = 2;
        check(apr_generate(session, "Hi", NULL, NULL, NULL, &r) == APR_ERR_INVALID_ARGUMENT,
              "a result struct_size below the first field is refused");
    }
    apr_session_free(session);
}

/* Cancellation: a set flag returns at once; an abort during the prompt stops
 * between prompt batches and leaves the session where it was. */
static int32_t polls;
static int32_t abort_on_second_poll(void* user_data) {
    (void)user_data;
    return ++polls >= 2;
}
static int32_t count_tokens(int32_t token, const char* text, size_t len, int32_t is_end, void* user_data) {
    (void)token, (void)text, (void)len, (void)is_end;
    ++*(int*)user_data;
    return 1;
}

static void test_cancel(apr_model* model) {
    apr_session_params sp;
    apr_session* session = NULL;
    apr_generate_params gp = greedy(8);
    apr_generate_result r;
    int32_t flag = 1;
    int tokens = 0;
    memset(&sp, 0, sizeof(sp));
    sp.struct_size = sizeof(sp);
    apr_session_default_params(&sp);
    sp.batch_size = 4; /* the prompt runs in several passes */
    check(apr_session_create(model, &sp, &session) == APR_OK, "a session with 4-token batches");
    check(apr_generate(session, "Hello there", &gp, NULL, NULL, NULL) == APR_OK, "some history");
    {
        const int64_t before = apr_session_position(session);
        memset(&r, 0, sizeof(r));
        r.struct_size = sizeof(r);
        gp.cancel = &flag;
        check(apr_generate(session, kPrompt, &gp, count_tokens, &tokens, &r) == APR_OK &&
                  r.finish_reason == APR_FINISH_CANCELLED && r.completion_tokens == 0 && tokens == 0,
              "a cancel flag set before the call stops before anything");
        check(apr_session_position(session) == before, "and leaves the session untouched");
        apr_generate_result_clear(&r);
        gp.cancel = NULL;

        polls = 0;
        gp.abort_callback = abort_on_second_poll;
        check(apr_generate(session, kPrompt, &gp, count_tokens, &tokens, &r) == APR_OK &&
                  r.finish_reason == APR_FINISH_CANCELLED && r.completion_tokens == 0 && tokens == 0,
              "an abort during the prompt stops between prompt batches");
        check(polls == 2 && apr_session_position(session) == before,
              "the abort callback was polled during the prompt; the session went back");
        apr_generate_result_clear(&r);
        gp.abort_callback = NULL;

        check(apr_generate(session, kPrompt, &gp, NULL, NULL, &r) == APR_OK && r.finish_reason != APR_FINISH_CANCELLED &&
                  apr_session_position(session) > before,
              "the same session then generates normally");
        apr_generate_result_clear(&r);
    }
    apr_session_free(session);
}

int main(void) {
    apr_model* model = load_model();
    test_types();
    check(model != NULL, "the nano model loads");
    if (model) {
        test_huge_context(model);
        test_result_zeroed(model);
        test_struct_size(model);
        test_cancel(model);
    }
    apr_model_free(model);
    test_free_order();
    return tap_done();
}
