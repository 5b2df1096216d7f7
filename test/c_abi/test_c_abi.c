/* The C ABI exercised from C11, linked against the shared libapr. Prints TAP. */
#include <stdio.h>
#include <string.h>

#include "apr.h"

#include "tap.h"

/* Model files: the vendored nano model opens with its config and tensors;
 * a bad path fails with a status and a message naming it. */
static void test_model_file(void) {
    apr_model_file* file = NULL;
    apr_status status = apr_model_file_open(APR_TEST_MODELS_DIR "/nano/nano-q4_k_m.gguf", &file);
    check(status == APR_OK && file != NULL, "apr_model_file_open opens the vendored model");
    if (file) {
        check(strcmp(apr_model_file_format(file), "gguf") == 0, "format is gguf");
        check(strcmp(apr_model_file_architecture(file), "qwen2") == 0, "architecture is qwen2");
        apr_model_config config;
        memset(&config, 0, sizeof(config));
        config.struct_size = sizeof(config);
        check(apr_model_file_config(file, &config) == APR_OK, "apr_model_file_config succeeds");
        check(config.hidden_size == 512 && config.num_layers == 4 && config.num_heads == 4 &&
                  config.num_kv_heads == 2 && config.head_dim == 128 && config.intermediate_size == 1024 &&
                  config.vocab_size == 2048 && config.tied_embeddings == 1 && config.rope_theta == 1e6 &&
                  config.eos_token_id == 2018,
              "config numbers are the nano model's");
        check(apr_model_file_tensor_count(file) == 50, "50 tensors");
        apr_tensor_info info;
        memset(&info, 0, sizeof(info));
        info.struct_size = sizeof(info);
        check(apr_model_file_tensor_info(file, 1, &info) == APR_OK && strcmp(info.name, "token_embd.weight") == 0 &&
                  strcmp(info.type, "Q6_K") == 0 && info.n_dims == 2 && info.shape[0] == 2048 &&
                  info.shape[1] == 512 && info.n_bytes == 860160,
              "tensor 1 is token_embd.weight, Q6_K [2048, 512]");
        check(apr_model_file_tensor_info(file, 50, &info) == APR_ERR_INVALID_ARGUMENT &&
                  strstr(apr_last_error(), "index 50") != NULL,
              "a tensor index past the end is an invalid argument");
        char* json = NULL;
        check(apr_model_file_inspect_json(file, &json) == APR_OK && json != NULL &&
                  strstr(json, "\"tensor_count\":50") != NULL && strstr(json, "\"num_kv_heads\":2") != NULL,
              "inspect JSON has the tensor count and config");
        apr_string_free(json);
    }
    apr_model_file_free(file);
    apr_model_file_free(NULL);

    apr_model_file* bad = (apr_model_file*)1;
    status = apr_model_file_open("/no/such/model.gguf", &bad);
    check(status == APR_ERR_NOT_FOUND && bad == NULL, "a missing file is APR_ERR_NOT_FOUND and *out is NULL");
    check(strstr(apr_last_error(), "/no/such/model.gguf") != NULL, "the last error names the path");
    check(apr_model_file_open(NULL, &bad) == APR_ERR_INVALID_ARGUMENT, "a NULL path is an invalid argument");
}

/* Models, sessions, generation: the vendored model answers 2+2 with "4" and
 * streams it through the callback; cancellation and errors. */
struct stream_state {
    char text[256];
    size_t len;
    int calls;
    int stop_after;  /* 0 = never stop */
};

static int on_token(int32_t token, const char* text, size_t len, int32_t is_end, void* user_data) {
    struct stream_state* st = (struct stream_state*)user_data;
    (void)token;
    (void)is_end;
    if (st->len + len < sizeof(st->text)) {
        memcpy(st->text + st->len, text, len);
        st->len += len;
        st->text[st->len] = '\0';
    }
    ++st->calls;
    return st->stop_after == 0 || st->calls < st->stop_after;
}

static void test_generate(void) {
    apr_model_params mp;
    memset(&mp, 0, sizeof(mp));
    mp.struct_size = sizeof(mp);
    apr_model_default_params(&mp);
    mp.n_threads = 2;
    apr_model* model = NULL;
    check(apr_model_load(APR_TEST_MODELS_DIR "/nano/nano-q4_k_m.gguf", &mp, &model) == APR_OK && model != NULL,
          "apr_model_load loads the vendored model");
    if (!model) return;
    check(apr_model_vocab_size(model) == 2048, "vocab size 2048");
    apr_session* session = NULL;
    check(apr_session_create(model, NULL, &session) == APR_OK && session != NULL, "apr_session_create with defaults");
    if (session) {
        apr_generate_params gp;
        memset(&gp, 0, sizeof(gp));
        gp.struct_size = sizeof(gp);
        apr_generate_default_params(&gp);
        check(gp.max_tokens == 256 && gp.temperature == 0.0 && gp.parse_special == 1, "generate defaults");
        gp.max_tokens = 10;
        struct stream_state st;
        memset(&st, 0, sizeof(st));
        apr_generate_result result;
        memset(&result, 0, sizeof(result));
        result.struct_size = sizeof(result);
        const char* prompt =
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
            "<|im_start|>user\nWhat is 2+2? Answer with just the number.<|im_end|>\n<|im_start|>assistant\n";
        apr_status status = apr_generate(session, prompt, &gp, on_token, &st, &result);
        check(status == APR_OK, "apr_generate succeeds");
        check(result.text != NULL && strcmp(result.text, "4") == 0 && strcmp(st.text, "4") == 0,
              "the answer is 4, returned and streamed");
        check(result.finish_reason == APR_FINISH_STOP && result.completion_tokens == 2 && result.tokens != NULL &&
                  result.tokens[1] == 2018,
              "generation stops on <|im_end|>, which is reported");
        check(result.prompt_tokens > 0 && apr_session_position(session) == result.prompt_tokens + 1,
              "the session holds the prompt and the tokens before the last");
        apr_generate_result_clear(&result);
        check(result.text == NULL && result.tokens == NULL, "apr_generate_result_clear frees and clears");

        apr_session_reset(session);
        memset(&st, 0, sizeof(st));
        st.stop_after = 2;
        gp.max_tokens = 20;
        status = apr_generate(session, "def fibonacci(n):", &gp, on_token, &st, &result);
        check(status == APR_OK && result.finish_reason == APR_FINISH_CANCELLED && result.completion_tokens == 2,
              "a callback returning 0 cancels after that token");
        apr_generate_result_clear(&result);

        int32_t cancel = 1;
        gp.cancel = &cancel;
        status = apr_generate(session, "def", &gp, NULL, NULL, &result);
        check(status == APR_OK && result.finish_reason == APR_FINISH_CANCELLED && result.completion_tokens == 0,
              "a set cancel flag stops before the first token");
        apr_generate_result_clear(&result);
        gp.cancel = NULL;

        apr_session_params sp;
        memset(&sp, 0, sizeof(sp));
        sp.struct_size = sizeof(sp);
        apr_session_default_params(&sp);
        sp.context_length = 4;
        apr_session* tiny = NULL;
        check(apr_session_create(model, &sp, &tiny) == APR_OK, "a session with 4 positions");
        status = apr_generate(tiny, prompt, &gp, NULL, NULL, NULL);
        check(status == APR_ERR_CONTEXT_OVERFLOW && strstr(apr_last_error(), "context") != NULL,
              "a prompt longer than the context is APR_ERR_CONTEXT_OVERFLOW");
        apr_session_free(tiny);
    }
    apr_session_free(session);
    apr_session_free(NULL);
    apr_model_free(model);
    apr_model_free(NULL);
    apr_model* none = (apr_model*)1;
    check(apr_model_load("/no/such/model.gguf", NULL, &none) != APR_OK && none == NULL,
          "loading a missing model fails and *out is NULL");
}

int main(void) {
    check(apr_version_number() == APR_VERSION_NUMBER, "run-time version matches the header");
    check(strcmp(apr_status_str(APR_OK), "ok") == 0, "apr_status_str names APR_OK");
    check(strcmp(apr_last_error(), "") == 0, "no error before any call");
    check(strstr(apr_build_info(), "libapr") != NULL, "build info names the library");
    test_model_file();
    test_generate();
    return tap_done();
}
