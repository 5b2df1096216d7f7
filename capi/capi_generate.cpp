// C ABI: generation (text or token prompts) with streaming callbacks,
// cancellation, log-probabilities and the result struct.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "apr/error.hpp"
#include "apr/generate.hpp"
#include "capi_internal.hpp"
#include "capi_layouts.hpp"
#include "model/tokenizer_bridge.hpp"

namespace {

using apr::capi::require;

apr_generate_params generate_defaults() {
    const apr::GenerateParams g;
    apr_generate_params p{};
    p.struct_size = sizeof(p);
    p.max_tokens = g.max_tokens;
    p.temperature = g.sampling.temperature;
    p.top_k = g.sampling.top_k;
    p.top_p = g.sampling.top_p;
    p.min_p = g.sampling.min_p;
    p.repeat_penalty = g.sampling.repeat_penalty;
    p.presence_penalty = g.sampling.presence_penalty;
    p.frequency_penalty = g.sampling.frequency_penalty;
    p.penalty_last_n = g.sampling.penalty_last_n;
    p.seed = g.sampling.seed;
    p.parse_special = 1;
    p.logprobs = 0;
    return p;
}

bool flag_set(const int32_t* flag) { return flag != nullptr && __atomic_load_n(flag, __ATOMIC_ACQUIRE) != 0; }

// Frees what a result owns (the fields its struct_size covers).
void clear_result(apr_generate_result* r) {
    auto has = [&](size_t offset, size_t size) { return r->struct_size >= offset + size; };
    if (has(offsetof(apr_generate_result, text), sizeof(char*))) {
        std::free(r->text);
        r->text = nullptr;
    }
    if (has(offsetof(apr_generate_result, tokens), sizeof(int32_t*))) {
        std::free(r->tokens);
        r->tokens = nullptr;
    }
    if (has(offsetof(apr_generate_result, logprobs), sizeof(float*))) {
        std::free(r->logprobs);
        r->logprobs = nullptr;
    }
    if (has(offsetof(apr_generate_result, top_logprobs), sizeof(apr_token_logprob*))) {
        std::free(r->top_logprobs);
        r->top_logprobs = nullptr;
    }
}

void fill_result(apr_generate_result* result, const apr::GenerateResult& r, int64_t k) {
    apr_generate_result full{};
    full.struct_size = sizeof(full);
    full.finish_reason = static_cast<int32_t>(r.finish_reason);
    full.prompt_tokens = r.prompt_tokens;
    full.completion_tokens = r.completion_tokens;
    full.prompt_ms = r.prompt_ms;
    full.generation_ms = r.generation_ms;
    full.text_len = r.text.size();
    full.logprobs_k = k;
    // Only what the caller's struct has room for is allocated (an older,
    // shorter struct gets nothing it could not free).
    auto room = [&](size_t offset, size_t size) { return result->struct_size >= offset + size; };
    try {
        if (room(offsetof(apr_generate_result, text), sizeof(char*))) full.text = apr::capi::copy_string(r.text);
        if (room(offsetof(apr_generate_result, tokens), sizeof(int32_t*))) full.tokens = apr::capi::copy_tokens(r.tokens);
        if (k > 0 && !r.logprobs.empty()) {
            const size_t n = r.logprobs.size();
            if (room(offsetof(apr_generate_result, logprobs), sizeof(float*))) {
                full.logprobs = static_cast<float*>(std::malloc(n * sizeof(float)));
                if (full.logprobs == nullptr) throw std::bad_alloc();
                for (size_t i = 0; i < n; ++i) full.logprobs[i] = r.logprobs[i].logprob;
            }
            if (room(offsetof(apr_generate_result, top_logprobs), sizeof(apr_token_logprob*))) {
                const size_t kk = static_cast<size_t>(k);
                full.top_logprobs = static_cast<apr_token_logprob*>(std::calloc(n * kk, sizeof(apr_token_logprob)));
                if (full.top_logprobs == nullptr) throw std::bad_alloc();
                for (size_t i = 0; i < n; ++i) {
                    // A vocabulary smaller than k leaves the row's tail as id -1.
                    for (size_t j = 0; j < kk; ++j) full.top_logprobs[i * kk + j] = {-1, 0.0f};
                    for (size_t j = 0; j < r.logprobs[i].top.size() && j < kk; ++j)
                        full.top_logprobs[i * kk + j] = {r.logprobs[i].top[j].id, r.logprobs[i].top[j].logprob};
                }
            }
        }
    } catch (...) {
        std::free(full.text);
        std::free(full.tokens);
        std::free(full.logprobs);
        std::free(full.top_logprobs);
        throw;
    }
    apr::capi::write_output(result, full);
}

// Shared by apr_generate and apr_generate_tokens. `prompt` is null for a
// text prompt, which is then tokenized here so the session's history knows
// the ids.
apr_status run_generate(apr_session* session, const char* text, const int32_t* prompt, size_t prompt_len,
                        const apr_generate_params* params, apr_token_callback callback, void* user_data,
                        apr_generate_result* result, const char* fn) {
    return apr::capi::guarded([&] {
        // Zeroed first: whatever fails below, the caller has nothing to free.
        apr::capi::begin_output(result, fn);
        require(session != nullptr, "apr_generate: session is NULL");
        const apr_generate_params p = apr::capi::read_params(params, generate_defaults(), fn);
        // A flag already set: back at once, the session untouched.
        if (flag_set(p.cancel) || (p.abort_callback != nullptr && p.abort_callback(p.abort_user_data) != 0)) {
            if (result != nullptr) {
                apr::GenerateResult r;
                r.finish_reason = apr::FinishReason::cancelled;
                fill_result(result, r, 0);
            }
            return;
        }
        apr::GenerateParams g;
        g.max_tokens = p.max_tokens;
        g.sampling.temperature = p.temperature;
        g.sampling.top_k = p.top_k;
        g.sampling.top_p = p.top_p;
        g.sampling.min_p = p.min_p;
        g.sampling.repeat_penalty = p.repeat_penalty;
        g.sampling.presence_penalty = p.presence_penalty;
        g.sampling.frequency_penalty = p.frequency_penalty;
        g.sampling.penalty_last_n = p.penalty_last_n;
        g.sampling.seed = p.seed;
        g.parse_special = p.parse_special != 0;
        g.logprobs = p.logprobs;
        require(p.stop_string_count == 0 || p.stop_strings != nullptr, "apr_generate: stop_strings is NULL");
        for (size_t i = 0; i < p.stop_string_count; ++i) {
            require(p.stop_strings[i] != nullptr, "apr_generate: a stop string is NULL");
            g.stop_strings.emplace_back(p.stop_strings[i]);
        }
        require(p.stop_token_id_count == 0 || p.stop_token_ids != nullptr, "apr_generate: stop_token_ids is NULL");
        g.stop_token_ids.assign(p.stop_token_ids, p.stop_token_ids + p.stop_token_id_count);
        const int32_t* cancel = p.cancel;
        const apr_abort_callback abort_cb = p.abort_callback;
        void* abort_data = p.abort_user_data;
        if (cancel != nullptr || abort_cb != nullptr)
            g.should_stop = [=] { return flag_set(cancel) || (abort_cb != nullptr && abort_cb(abort_data) != 0); };
        const apr_token_event_callback event_cb = p.event_callback;
        void* event_data = p.event_user_data;
        std::vector<apr_token_logprob> top;
        apr::TokenCallback on_token;
        if (callback != nullptr || event_cb != nullptr)
            on_token = [&](const apr::GeneratedToken& t) {
                if (callback != nullptr &&
                    callback(t.id, t.text.data(), t.text.size(), t.is_end ? 1 : 0, user_data) == 0)
                    return false;
                if (event_cb != nullptr) {
                    apr_token_event ev{};
                    ev.struct_size = sizeof(ev);
                    ev.token = t.id;
                    ev.is_end = t.is_end ? 1 : 0;
                    ev.text = t.text.data();
                    ev.text_len = t.text.size();
                    if (t.logprobs != nullptr) {
                        ev.logprob = t.logprobs->logprob;
                        top.clear();
                        for (const apr::TokenLogprob& lp : t.logprobs->top) top.push_back({lp.id, lp.logprob});
                        ev.top_count = top.size();
                        ev.top = top.data();
                    }
                    if (event_cb(&ev, event_data) == 0) return false;
                }
                return true;
            };

        apr_session& s = *session;
        std::vector<int32_t> ids;
        if (prompt == nullptr) {
            const auto start = std::chrono::steady_clock::now();
            ids = apr::model::encode_prompt(*s.model, text, g.parse_special, s.session->position() == 0);
            if (apr::Observer* observer = s.session->observer(); observer != nullptr)
                observer->on_tokenize(apr::TokenizeEvent{
                    std::strlen(text), static_cast<int64_t>(ids.size()),
                    std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count()});
        } else {
            ids.assign(prompt, prompt + prompt_len);
        }
        const apr::GenerateResult r = apr::generate(*s.session, ids, g, on_token);
        // The KV cache holds history + prompt + generated, up to its position.
        std::vector<int32_t> all = s.history;
        all.insert(all.end(), ids.begin(), ids.end());
        all.insert(all.end(), r.tokens.begin(), r.tokens.end());
        all.resize(static_cast<size_t>(std::min<int64_t>(s.session->position(), static_cast<int64_t>(all.size()))));
        s.history = std::move(all);
        if (result != nullptr) fill_result(result, r, p.logprobs);
    });
}

}  // namespace

extern "C" {

void apr_generate_default_params(apr_generate_params* params) {
    apr::capi::write_defaults(params, generate_defaults(), "apr_generate_default_params");
}

apr_status apr_generate(apr_session* session, const char* prompt, const apr_generate_params* params,
                        apr_token_callback callback, void* user_data, apr_generate_result* result) {
    if (prompt == nullptr)
        return apr::capi::guarded([&] {
            apr::capi::begin_output(result, "apr_generate");
            require(false, "apr_generate: prompt is NULL");
        });
    return run_generate(session, prompt, nullptr, 0, params, callback, user_data, result, "apr_generate");
}

apr_status apr_generate_tokens(apr_session* session, const int32_t* prompt, size_t prompt_len,
                               const apr_generate_params* params, apr_token_callback callback, void* user_data,
                               apr_generate_result* result) {
    if (prompt == nullptr)
        return apr::capi::guarded([&] {
            apr::capi::begin_output(result, "apr_generate_tokens");
            require(false, "apr_generate_tokens: prompt is NULL");
        });
    return run_generate(session, nullptr, prompt, prompt_len, params, callback, user_data, result,
                        "apr_generate_tokens");
}

void apr_generate_result_clear(apr_generate_result* result) {
    if (result == nullptr || result->struct_size < sizeof(size_t) || result->struct_size > apr::capi::kMaxStructSize)
        return;
    clear_result(result);
}

}  // extern "C"
