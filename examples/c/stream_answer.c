/* A complete libapr C program (C99): load a model, build the prompt with the
 * model's chat template, stream the answer token by token, count what the
 * tracing observer sees, and handle errors through the status + message API.
 *
 *   cc -std=c99 -pedantic stream_answer.c $(pkg-config --cflags --libs apr) -o stream_answer
 *   ./stream_answer MODEL.gguf
 */
#include <stdio.h>
#include <string.h>

#include <apr/apr.h>

/* Streaming: called on this thread once per generated token. */
static int32_t print_token(int32_t token, const char* text, size_t text_len, int32_t is_end, void* user_data) {
    (void)token;
    (void)is_end;
    (void)user_data;
    fwrite(text, 1, text_len, stdout); /* text_len bytes; not NUL-terminated */
    fflush(stdout);
    return 1; /* go on */
}

/* Tracing: counts the matmuls and the transformer blocks of every forward pass. */
struct trace_counts {
    long matmuls;
    long blocks;
};
static void on_op(const apr_op_event* event, void* user_data) {
    if (event->op == APR_OP_MATMUL) ((struct trace_counts*)user_data)->matmuls++;
}
static void on_layer(const apr_layer_event* event, void* user_data) {
    if (event->stage == APR_STAGE_BLOCK_OUTPUT) ((struct trace_counts*)user_data)->blocks++;
}

static int fail(const char* what, apr_status status) {
    fprintf(stderr, "%s: %s (%s)\n", what, apr_last_error(), apr_status_str(status));
    return 1;
}

int main(int argc, char** argv) {
    apr_model_params model_params;
    apr_model* model = NULL;
    apr_chat_template* tmpl = NULL;
    apr_session* session = NULL;
    apr_generate_params gen;
    apr_generate_result result;
    apr_observer observer;
    struct trace_counts counts = {0, 0};
    apr_chat_message messages[1];
    char* prompt = NULL;
    size_t prompt_len = 0;
    apr_status status;
    int exit_code = 0;

    memset(&result, 0, sizeof(result)); /* zeroed: apr_generate_result_clear is safe on every path */
    result.struct_size = sizeof(result);
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL\n", argv[0]);
        return 2;
    }
    printf("libapr %s (header %d.%d.%d)\n", apr_version_str(), APR_VERSION_MAJOR, APR_VERSION_MINOR,
           APR_VERSION_PATCH);

    /* A bad path is a status and a message naming it, never a crash. */
    status = apr_model_load("/no/such/model.gguf", NULL, &model);
    printf("bad path: %s: %s\n", apr_status_str(status), apr_last_error());
    if (status != APR_ERR_NOT_FOUND || model != NULL) return 1;

    /* Options structs: set struct_size, take the defaults, change what you need. */
    memset(&model_params, 0, sizeof(model_params));
    model_params.struct_size = sizeof(model_params);
    apr_model_default_params(&model_params);
    model_params.n_threads = 2;
    status = apr_model_load(argv[1], &model_params, &model);
    if (status != APR_OK) return fail("load", status);

    /* The prompt, rendered with the model's own chat template. */
    messages[0].role = "user";
    messages[0].content = "What is 2+2? Answer with just the number.";
    messages[0].tool_calls_json = NULL;
    status = apr_model_get_chat_template(model, &tmpl);
    if (status == APR_OK) status = apr_chat_template_render(tmpl, messages, 1, 1, NULL, &prompt, &prompt_len);
    if (status != APR_OK) {
        exit_code = fail("chat template", status);
        goto done;
    }

    status = apr_session_create(model, NULL, &session);
    if (status != APR_OK) {
        exit_code = fail("session", status);
        goto done;
    }
    memset(&observer, 0, sizeof(observer));
    observer.struct_size = sizeof(observer);
    observer.on_op = on_op;
    observer.on_layer = on_layer;
    observer.user_data = &counts;
    apr_session_set_observer(session, &observer);

    memset(&gen, 0, sizeof(gen));
    gen.struct_size = sizeof(gen);
    apr_generate_default_params(&gen); /* greedy */
    gen.max_tokens = 16;
    printf("answer: ");
    status = apr_generate(session, prompt, &gen, print_token, NULL, &result);
    printf("\n");
    if (status != APR_OK) {
        exit_code = fail("generate", status);
        goto done;
    }
    printf("text: \"%.*s\" (%lu bytes), %lld prompt + %lld generated tokens\n", (int)result.text_len, result.text,
           (unsigned long)result.text_len, (long long)result.prompt_tokens, (long long)result.completion_tokens);
    printf("observer: %ld matmuls, %ld block outputs\n", counts.matmuls, counts.blocks);
    if (result.text_len != 1 || result.text[0] != '4' || counts.matmuls == 0) exit_code = 1;

done:
    apr_generate_result_clear(&result);
    apr_string_free(prompt);
    apr_chat_template_free(tmpl);
    apr_model_free(model); /* sessions hold their own reference: any order works */
    apr_session_free(session);
    return exit_code;
}
