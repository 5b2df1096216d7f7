/* What the C ABI covers, each used from C as a caller would: load options
 * (progress callback, device), model info, tokenizer, chat template with
 * tools, streaming events with log-probabilities, sampling and stop token
 * ids, truncate, evaluate, batched evaluation, session state files, the
 * sampler and the observer. Linked against the shared libapr; prints TAP. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apr.h"

#include "tap.h"

#define MODEL APR_TEST_MODELS_DIR "/nano/nano-q4_k_m.gguf"
#define IM_END 2018
static const char* const kPrompt =
    "<|im_start|>user\nWhat is 2+2? Answer with just the number.<|im_end|>\n<|im_start|>assistant\n";

/* ---- loading ---------------------------------------------------------------- */
struct progress_log {
    int calls;
    float last;
    int monotonic;
    int cancel_at; /* 0 = never */
};
static int32_t on_progress(float p, void* user_data) {
    struct progress_log* log = (struct progress_log*)user_data;
    if (p < log->last) log->monotonic = 0;
    log->last = p;
    ++log->calls;
    return log->cancel_at == 0 || log->calls < log->cancel_at;
}

static apr_model* test_load(void) {
    apr_model_params mp;
    struct progress_log log = {0, 0.0f, 1, 0};
    apr_model* model = NULL;
    memset(&mp, 0, sizeof(mp));
    mp.struct_size = sizeof(mp);
    apr_model_default_params(&mp);
    check(mp.device == APR_DEVICE_CPU && mp.n_threads == 0 && mp.progress_callback == NULL, "model defaults");
    mp.progress_callback = on_progress;
    mp.progress_user_data = &log;
    log.cancel_at = 2;
    check(apr_model_load(MODEL, &mp, &model) == APR_ERR_CANCELLED && model == NULL &&
              strstr(apr_last_error(), "cancelled") != NULL,
          "a progress callback returning 0 cancels the load");
    log.calls = 0;
    log.last = 0.0f;
    log.cancel_at = 0;
    mp.device = 42;
    check(apr_model_load(MODEL, &mp, &model) == APR_ERR_INVALID_ARGUMENT, "an unknown device is refused");
    mp.device = APR_DEVICE_CPU;
    mp.n_threads = 2;
    check(apr_model_load(MODEL, &mp, &model) == APR_OK && model != NULL, "the model loads with options");
    check(log.calls >= 3 && log.monotonic && log.last == 1.0f, "progress rises from 0 to 1");
    return model;
}

static void test_info(apr_model* model) {
    apr_model_config cfg;
    const int32_t* ends = NULL;
    size_t n_ends = 0, i;
    int has_im_end = 0;
    memset(&cfg, 0, sizeof(cfg));
    cfg.struct_size = sizeof(cfg);
    check(apr_model_get_config(model, &cfg) == APR_OK && cfg.vocab_size == 2048 && cfg.num_layers == 4 &&
              cfg.hidden_size == 512 && cfg.context_length > 0,
          "apr_model_get_config");
    check(strcmp(apr_model_architecture(model), "qwen2") == 0 && apr_model_n_threads(model) == 2 &&
              apr_model_device(model) == APR_DEVICE_CPU,
          "architecture, threads, device");
    check(apr_model_end_token_ids(model, &ends, &n_ends) == APR_OK && n_ends >= 1, "end token ids");
    for (i = 0; i < n_ends; ++i) has_im_end |= ends[i] == IM_END;
    check(has_im_end, "<|im_end|> ends generation");
}

/* ---- tokenizer ----------------------------------------------------------------- */
static void test_tokenizer(apr_model* model) {
    apr_tokenizer* tok = NULL;
    int32_t* ids = NULL;
    size_t n = 0, i, len = 0;
    char* text = NULL;
    int32_t id = -1;
    const char source[] = "def add(a, b):\n    return a + b  # 2+2";
    const char with_nul[3] = {'a', '\0', 'b'};
    check(apr_model_get_tokenizer(model, &tok) == APR_OK && tok != NULL, "the model's tokenizer");
    if (!tok) return;
    check(apr_tokenizer_vocab_size(tok) > 0 && apr_tokenizer_eos_id(tok) >= 0 && apr_tokenizer_add_bos(tok) == 0,
          "vocab size, eos id, no BOS for Qwen2.5");
    check(apr_tokenize(tok, source, strlen(source), 1, &ids, &n) == APR_OK && n > 5, "tokenize");
    check(apr_detokenize(tok, ids, n, 0, &text, &len) == APR_OK && len == strlen(source) && strcmp(text, source) == 0,
          "detokenize gives the text back");
    apr_string_free(text);
    {
        /* token-to-piece: the pieces concatenate to the text */
        char joined[256];
        size_t used = 0;
        int ok = 1;
        for (i = 0; i < n && ok; ++i) {
            char* piece = NULL;
            size_t plen = 0;
            ok = apr_token_to_piece(tok, ids[i], &piece, &plen) == APR_OK && used + plen < sizeof(joined);
            if (ok) memcpy(joined + used, piece, plen);
            used += plen;
            apr_string_free(piece);
        }
        check(ok && used == strlen(source) && memcmp(joined, source, used) == 0, "the pieces of the ids are the text");
    }
    apr_tokens_free(ids);
    check(apr_tokenize(tok, "<|im_end|>", 10, 1, &ids, &n) == APR_OK && n == 1 && ids[0] == IM_END,
          "parse_special: <|im_end|> is one control token");
    apr_tokens_free(ids);
    check(apr_tokenize(tok, "<|im_end|>", 10, 0, &ids, &n) == APR_OK && n > 1,
          "without parse_special it is plain text");
    apr_tokens_free(ids);
    check(apr_token_from_piece(tok, "<|im_end|>", &id) == APR_OK && id == IM_END && apr_tokenizer_is_control(tok, id),
          "token_from_piece and is_control");
    check(apr_token_from_piece(tok, "no such piece at all", &id) == APR_ERR_NOT_FOUND, "an unknown piece is NOT_FOUND");
    check(apr_tokenize(tok, with_nul, 3, 1, &ids, &n) == APR_OK &&
              apr_detokenize(tok, ids, n, 0, &text, &len) == APR_OK && len == 3 && text[1] == '\0' && text[2] == 'b',
          "text with a 0x00 byte round-trips with its length");
    apr_tokens_free(ids);
    apr_string_free(text);
    id = 1 << 30;
    check(apr_detokenize(tok, &id, 1, 0, &text, &len) == APR_ERR_INVALID_ARGUMENT && text == NULL,
          "an id outside the vocabulary is refused");
    apr_tokenizer_free(tok);
}

/* ---- chat template ------------------------------------------------------------ */
static void test_chat(apr_model* model) {
    apr_chat_template* tmpl = NULL;
    apr_chat_message msgs[2];
    char *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    const char* tools =
        "[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"Weather\","
        "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}}}]";
    msgs[0].role = "system";
    msgs[0].content = "Be brief.";
    msgs[0].tool_calls_json = NULL;
    msgs[1].role = "user";
    msgs[1].content = "Weather in Paris?";
    msgs[1].tool_calls_json = NULL;
    check(apr_model_get_chat_template(model, &tmpl) == APR_OK && tmpl != NULL, "the model's chat template");
    if (!tmpl) return;
    check(apr_chat_template_render(tmpl, msgs, 2, 1, tools, &a, &alen) == APR_OK && strstr(a, "get_weather") != NULL &&
              strstr(a, "Weather in Paris?") != NULL && alen == strlen(a) &&
              strcmp(a + alen - strlen("<|im_start|>assistant\n"), "<|im_start|>assistant\n") == 0,
          "render with messages and tools ends with the generation prompt");
    check(apr_chat_template_render_json(tmpl,
                                        "[{\"role\":\"system\",\"content\":\"Be brief.\"},"
                                        "{\"role\":\"user\",\"content\":\"Weather in Paris?\"}]",
                                        1, tools, &b, &blen) == APR_OK &&
              blen == alen && strcmp(a, b) == 0,
          "render_json gives the same prompt");
    apr_string_free(a);
    apr_string_free(b);
    check(apr_chat_template_render_json(tmpl, "[{\"role\": 3}]", 1, NULL, &b, &blen) == APR_ERR_INVALID_ARGUMENT &&
              b == NULL && strstr(apr_last_error(), "role") != NULL,
          "bad messages JSON names the field");
    apr_chat_template_free(tmpl);
    check(apr_chat_template_from_source("{{ 1 +", NULL, NULL, &tmpl) == APR_ERR_BAD_FORMAT && tmpl == NULL,
          "a template that does not parse is BAD_FORMAT");
}

/* ---- generation ------------------------------------------------------------------ */
struct events {
    int calls;
    int top_ok;
    char text[64];
    size_t len;
};
static int32_t on_event(const apr_token_event* ev, void* user_data) {
    struct events* e = (struct events*)user_data;
    ++e->calls;
    if (!(ev->struct_size >= sizeof(apr_token_event) && ev->top_count == 3 && ev->top[0].logprob >= ev->top[1].logprob &&
          ev->logprob <= 0.0f && ev->top[0].id == ev->token))
        e->top_ok = 0;
    if (e->len + ev->text_len < sizeof(e->text)) {
        memcpy(e->text + e->len, ev->text, ev->text_len);
        e->len += ev->text_len;
    }
    return 1;
}

static apr_generate_params defaults(int64_t max_tokens) {
    apr_generate_params gp;
    memset(&gp, 0, sizeof(gp));
    gp.struct_size = sizeof(gp);
    apr_generate_default_params(&gp);
    gp.max_tokens = max_tokens;
    return gp;
}
static apr_generate_result empty_result(void) {
    apr_generate_result r;
    memset(&r, 0, sizeof(r));
    r.struct_size = sizeof(r);
    return r;
}

static void test_generation(apr_model* model) {
    apr_session* s = NULL;
    apr_generate_params gp = defaults(8);
    apr_generate_result r = empty_result(), r2 = empty_result();
    struct events ev;
    int32_t four = -1;
    check(apr_session_create(model, NULL, &s) == APR_OK, "a session");
    memset(&ev, 0, sizeof(ev));
    ev.top_ok = 1;
    gp.logprobs = 3;
    gp.event_callback = on_event;
    gp.event_user_data = &ev;
    check(apr_generate(s, kPrompt, &gp, NULL, NULL, &r) == APR_OK && r.completion_tokens == 2 && ev.calls == 2 &&
              ev.top_ok && ev.len == 1 && ev.text[0] == '4',
          "event callback: text with length and the top-3 log-probabilities per token");
    check(r.logprobs_k == 3 && r.logprobs != NULL && r.top_logprobs != NULL && r.top_logprobs[0].id == r.tokens[0] &&
              fabsf(r.logprobs[0] - r.top_logprobs[0].logprob) < 1e-6f && r.text_len == 1,
          "the result carries the log-probabilities");
    four = r.tokens[0];
    apr_generate_result_clear(&r);

    apr_session_reset(s);
    gp = defaults(8);
    gp.stop_token_ids = &four;
    gp.stop_token_id_count = 1;
    check(apr_generate(s, kPrompt, &gp, NULL, NULL, &r) == APR_OK && r.finish_reason == APR_FINISH_STOP &&
              r.completion_tokens == 1 && r.tokens[0] == four && r.text_len == 0,
          "stop_token_ids replace the model's end tokens");
    apr_generate_result_clear(&r);

    /* sampling: a seed repeats itself; top_k = 1 is greedy */
    gp = defaults(12);
    gp.temperature = 0.9;
    gp.top_p = 0.95;
    gp.min_p = 0.01;
    gp.repeat_penalty = 1.1;
    gp.presence_penalty = 0.1;
    gp.frequency_penalty = 0.1;
    gp.penalty_last_n = 32;
    gp.seed = 7;
    apr_session_reset(s);
    check(apr_generate(s, "def fibonacci(n):", &gp, NULL, NULL, &r) == APR_OK, "sampled generation");
    apr_session_reset(s);
    check(apr_generate(s, "def fibonacci(n):", &gp, NULL, NULL, &r2) == APR_OK &&
              r.completion_tokens == r2.completion_tokens &&
              memcmp(r.tokens, r2.tokens, sizeof(int32_t) * (size_t)r.completion_tokens) == 0,
          "the same seed gives the same tokens");
    apr_generate_result_clear(&r);
    apr_generate_result_clear(&r2);
    gp = defaults(6);
    apr_session_reset(s);
    check(apr_generate(s, "def fibonacci(n):", &gp, NULL, NULL, &r) == APR_OK, "greedy");
    gp.temperature = 1.0;
    gp.top_k = 1;
    gp.seed = 99;
    apr_session_reset(s);
    check(apr_generate(s, "def fibonacci(n):", &gp, NULL, NULL, &r2) == APR_OK &&
              r.completion_tokens == r2.completion_tokens &&
              memcmp(r.tokens, r2.tokens, sizeof(int32_t) * (size_t)r.completion_tokens) == 0,
          "top_k = 1 samples the greedy tokens");
    apr_generate_result_clear(&r);
    apr_generate_result_clear(&r2);
    gp.top_p = 0.0;
    check(apr_generate(s, "x", &gp, NULL, NULL, NULL) == APR_ERR_INVALID_ARGUMENT && strstr(apr_last_error(), "top_p"),
          "an out-of-range sampling option names itself");
    apr_session_free(s);
}

/* ---- sessions: truncate, evaluate, batch, state ------------------------------------ */
static int32_t argmax(const float* v, int64_t n) {
    int64_t i, best = 0;
    for (i = 1; i < n; ++i)
        if (v[i] > v[best]) best = i;
    return (int32_t)best;
}

static void test_sessions(apr_model* model) {
    apr_session *a = NULL, *b = NULL, *c = NULL;
    apr_tokenizer* tok = NULL;
    int32_t* ids = NULL;
    size_t n = 0;
    const float* logits = NULL;
    const int64_t vocab = apr_model_vocab_size(model);
    float* rows = (float*)malloc(sizeof(float) * (size_t)vocab * 2);
    float* single = (float*)malloc(sizeof(float) * (size_t)vocab);
    apr_generate_params gp = defaults(6);
    apr_generate_result ra = empty_result(), rb = empty_result();
    const char* state = "test_c_abi_features.state";
    int32_t next[2];

    check(apr_session_create(model, NULL, &a) == APR_OK && apr_session_create(model, NULL, &b) == APR_OK &&
              apr_session_create(model, NULL, &c) == APR_OK && apr_model_get_tokenizer(model, &tok) == APR_OK,
          "three sessions and a tokenizer");
    check(apr_tokenize(tok, kPrompt, strlen(kPrompt), 1, &ids, &n) == APR_OK && n > 10, "prompt ids");
    check(apr_session_evaluate(a, ids, n, &logits) == APR_OK && logits != NULL && apr_session_position(a) == (int64_t)n,
          "apr_session_evaluate appends the tokens");
    next[0] = argmax(logits, vocab);
    memcpy(single, logits, sizeof(float) * (size_t)vocab);
    check(next[0] != IM_END, "the logits pick a first answer token");
    check(apr_session_evaluate(b, ids, n - 1, &logits) == APR_OK, "a second session one token behind");
    next[1] = ids[n - 1];
    {
        apr_session* pair[2];
        const float* la = NULL;
        pair[0] = a;
        pair[1] = b;
        check(apr_evaluate_batch(pair, next, 2, rows) == APR_OK && apr_session_position(a) == (int64_t)n + 1 &&
                  apr_session_position(b) == (int64_t)n,
              "apr_evaluate_batch steps both sessions in one pass");
        check(memcmp(rows + vocab, single, sizeof(float) * (size_t)vocab) == 0,
              "the batched row equals the session's own logits");
        check(apr_session_truncate(a, (int64_t)n) == APR_OK && apr_session_position(a) == (int64_t)n &&
                  apr_session_evaluate(a, &next[0], 1, &la) == APR_OK &&
                  memcmp(la, rows, sizeof(float) * (size_t)vocab) == 0,
              "truncate, then the same token gives the same logits");
        check(apr_session_truncate(a, 100000) == APR_ERR_INVALID_ARGUMENT, "truncating past the position is refused");
        pair[1] = a;
        check(apr_evaluate_batch(pair, next, 2, rows) == APR_ERR_INVALID_ARGUMENT &&
                  apr_session_position(a) == (int64_t)n + 1,
              "a session twice in one batch is refused and nothing moves");
    }
    /* state: save a, load into c, both continue alike */
    check(apr_session_save_state(a, state) == APR_OK, "save the session's state");
    check(apr_session_load_state(c, state) == APR_OK && apr_session_position(c) == apr_session_position(a),
          "load it into another session");
    check(apr_generate(a, "\n", &gp, NULL, NULL, &ra) == APR_OK && apr_generate(c, "\n", &gp, NULL, NULL, &rb) == APR_OK &&
              ra.completion_tokens == rb.completion_tokens &&
              memcmp(ra.tokens, rb.tokens, sizeof(int32_t) * (size_t)ra.completion_tokens) == 0,
          "the loaded session generates what the original does");
    apr_generate_result_clear(&ra);
    apr_generate_result_clear(&rb);
    {
        FILE* f = fopen(state, "r+b");
        const int64_t before = apr_session_position(c);
        if (f) {
            fputs("JUNK", f);
            fclose(f);
        }
        check(apr_session_load_state(c, state) == APR_ERR_BAD_FORMAT && apr_session_position(c) == before,
              "a damaged state file is BAD_FORMAT and the session stays as it was");
        check(apr_session_load_state(c, "/no/such/state") == APR_ERR_NOT_FOUND, "a missing state file is NOT_FOUND");
        remove(state);
    }
    /* the sampler over evaluate's logits */
    {
        apr_sampler* sampler = NULL;
        apr_generate_params bad = defaults(1);
        int32_t t = -1;
        check(apr_sampler_create(NULL, &sampler) == APR_OK && apr_sampler_sample(sampler, single, (size_t)vocab, &t) == APR_OK &&
                  t == next[0],
              "a greedy sampler picks the argmax");
        apr_sampler_accept(sampler, t);
        apr_sampler_reset(sampler);
        apr_sampler_free(sampler);
        bad.temperature = -0.5;
        check(apr_sampler_create(&bad, &sampler) == APR_ERR_INVALID_ARGUMENT && sampler == NULL,
              "a negative temperature is refused by the sampler too");
    }
    apr_tokens_free(ids);
    apr_tokenizer_free(tok);
    apr_session_free(a);
    apr_session_free(b);
    apr_session_free(c);
    free(rows);
    free(single);
}

/* ---- observer -------------------------------------------------------------------- */
struct seen {
    long ops, matmuls, blocks, finals, bad;
    /* the tracing events */
    long begins, ends, prompt_phases, decode_phases, tokenizes, samples, bad_trace, open_batch;
    int32_t phase;
    double pass_ops_ms, worst_gap;  /* op time inside the open pass; the largest ops-vs-pass mismatch */
    int64_t tokenized, last_sample_step;
};
static void obs_op(const apr_op_event* e, void* u) {
    struct seen* s = (struct seen*)u;
    ++s->ops;
    if (e->op == APR_OP_MATMUL) ++s->matmuls;
    if (e->name == NULL || e->rows <= 0 || e->cols <= 0 || e->output == NULL ||
        strcmp(apr_op_kind_name(e->op), "unknown") == 0)
        ++s->bad;
    /* The tracing fields: a kernel name, a time, and for a matmul the weight's type and shape. */
    if (e->struct_size < sizeof(apr_op_event) || e->kernel == NULL || e->kernel_len == 0 || e->ms < 0 ||
        e->weight_type == NULL || !s->open_batch)
        ++s->bad_trace;
    /* A matmul's output columns are its weight's rows (out x in). */
    if (e->op == APR_OP_MATMUL && (strlen(e->weight_type) < 2 || e->weight_rows != e->cols || e->weight_cols <= 0))
        ++s->bad_trace;
    s->pass_ops_ms += e->ms;
}
static void obs_batch_begin(const apr_batch_event* e, void* u) {
    struct seen* s = (struct seen*)u;
    ++s->begins;
    if (s->open_batch || e->rows <= 0 || e->positions == NULL || e->layers != 4 || e->sequences != 1 || e->ms != 0)
        ++s->bad_trace;
    /* A decode step is one token; the prompt comes in the prompt phase. */
    if ((s->phase == APR_PHASE_DECODE) != (e->rows == 1 && s->begins > 1)) ++s->bad_trace;
    s->open_batch = 1;
    s->pass_ops_ms = 0;
}
static void obs_batch_end(const apr_batch_event* e, void* u) {
    struct seen* s = (struct seen*)u;
    ++s->ends;
    if (!s->open_batch || e->ms <= 0) ++s->bad_trace;
    /* The ops are timed inside the pass: their sum cannot exceed it (1 ms slack for clock reads). */
    if (s->pass_ops_ms - e->ms > s->worst_gap) s->worst_gap = s->pass_ops_ms - e->ms;
    s->open_batch = 0;
}
static void obs_phase(int32_t phase, void* u) {
    struct seen* s = (struct seen*)u;
    s->phase = phase;
    if (phase == APR_PHASE_PROMPT) ++s->prompt_phases;
    else if (phase == APR_PHASE_DECODE) ++s->decode_phases;
    else ++s->bad_trace;
}
static void obs_tokenize(const apr_tokenize_event* e, void* u) {
    struct seen* s = (struct seen*)u;
    ++s->tokenizes;
    s->tokenized = e->tokens;
    if (e->text_bytes != 3 || e->tokens <= 0 || e->ms < 0) ++s->bad_trace;
}
static void obs_sample(const apr_sample_event* e, void* u) {
    struct seen* s = (struct seen*)u;
    if (e->step != s->samples || e->logits == NULL || e->vocab <= 0 || e->token < 0 || e->token >= e->vocab ||
        e->ms < 0)
        ++s->bad_trace;
    ++s->samples;
}
static void obs_layer(const apr_layer_event* e, void* u) {
    struct seen* s = (struct seen*)u;
    if (e->stage == APR_STAGE_BLOCK_OUTPUT) ++s->blocks;
    if (e->stage == APR_STAGE_FINAL_NORM) ++s->finals;
    if (e->hidden == NULL || e->cols != 512 || e->positions == NULL) ++s->bad;
}

static void test_observer(apr_model* model) {
    apr_session* s = NULL;
    apr_observer obs;
    struct seen seen;
    apr_generate_params gp = defaults(3);
    memset(&seen, 0, sizeof(seen));
    memset(&obs, 0, sizeof(obs));
    obs.struct_size = sizeof(obs);
    obs.on_op = obs_op;
    obs.on_layer = obs_layer;
    obs.user_data = &seen;
    obs.on_batch_begin = obs_batch_begin;
    obs.on_batch_end = obs_batch_end;
    obs.on_phase = obs_phase;
    obs.on_tokenize = obs_tokenize;
    obs.on_sample = obs_sample;
    check(apr_session_create(model, NULL, &s) == APR_OK && apr_session_set_observer(s, &obs) == APR_OK,
          "an observer on a session");
    check(apr_generate(s, "def", &gp, NULL, NULL, NULL) == APR_OK, "generate with the observer");
    /* 3 tokens: the prompt pass and two single-token passes */
    check(seen.blocks == 3 * 4 && seen.finals == 3 && seen.matmuls > 0 && seen.bad == 0,
          "the observer sees 4 blocks and the final norm per forward pass, and every op");
    if (seen.bad_trace != 0 || seen.begins != 3 || seen.ends != 3 || seen.prompt_phases != 1 ||
        seen.decode_phases != 1 || seen.tokenizes != 1 || seen.samples != 3 || seen.worst_gap > 1.0)
        printf("# passes %ld/%ld, phases %ld/%ld, tokenize %ld (%lld ids), samples %ld, bad %ld, ops over pass by %.3f ms\n",
               seen.begins, seen.ends, seen.prompt_phases, seen.decode_phases, seen.tokenizes,
               (long long)seen.tokenized, seen.samples, seen.bad_trace, seen.worst_gap);
    check(seen.begins == 3 && seen.ends == 3 && seen.prompt_phases == 1 && seen.decode_phases == 1,
          "on_batch_begin/end per forward pass (4 layers, its rows and positions, the pass time) and on_phase");
    check(seen.tokenizes == 1 && seen.tokenized > 0 && seen.samples == 3,
          "on_tokenize for the prompt and on_sample for each generated token (its step, id and logits)");
    check(seen.bad_trace == 0 && seen.worst_gap <= 1.0,
          "op events carry a kernel, a weight type and shape and a time; the ops of a pass fit in its time");
    check(apr_session_set_observer(s, NULL) == APR_OK, "remove it");
    seen.ops = 0;
    check(apr_generate(s, " x", &gp, NULL, NULL, NULL) == APR_OK && seen.ops == 0, "no events after removing it");
    apr_session_free(s);
}

int main(void) {
    apr_model* model = test_load();
    if (model) {
        test_info(model);
        test_tokenizer(model);
        test_chat(model);
        test_generation(model);
        test_sessions(model);
        test_observer(model);
    }
    apr_model_free(model);
    return tap_done();
}
