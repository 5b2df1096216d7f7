/* The C ABI exercised from C11, linked against the shared libapr. Prints TAP. */
#include <stdio.h>
#include <string.h>

#include "apr.h"

static int test_count = 0;
static int failures = 0;

static void check(int ok, const char* what) {
    ++test_count;
    printf("%s %d - %s\n", ok ? "ok" : "not ok", test_count, what);
    if (!ok) ++failures;
}

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

int main(void) {
    check(apr_version_number() == APR_VERSION_NUMBER, "run-time version matches the header");
    check(strcmp(apr_status_str(APR_OK), "ok") == 0, "apr_status_str names APR_OK");
    check(strcmp(apr_last_error(), "") == 0, "no error before any call");
    check(strstr(apr_build_info(), "libapr") != NULL, "build info names the library");
    test_model_file();
    printf("1..%d\n", test_count);
    return failures == 0 ? 0 : 1;
}
