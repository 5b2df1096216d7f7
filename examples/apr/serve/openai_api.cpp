// The OpenAI API: /v1/chat/completions, /v1/completions (streaming as
// server-sent events ending with `data: [DONE]`, or one JSON object) and
// /v1/models.
#include <fmt/core.h>

#include <algorithm>
#include <memory>

#include "serve/api.hpp"
#include "serve/fields.hpp"
#include "serve/request_trace.hpp"
#include "serve/tool_calls.hpp"

namespace apr::serve {

std::string openai_error_body(const ApiError& e) {
    const char* type = e.status == 401 ? "authentication_error"
                       : e.status >= 500 ? "server_error"
                                         : "invalid_request_error";
    Json err = Json::object();
    err.set("message", e.what()).set("type", type);
    err.set("param", e.param.empty() ? Json() : Json(e.param));
    err.set("code", e.code.empty() ? Json() : Json(e.code));
    Json out = Json::object();
    out.set("error", std::move(err));
    return out.dump();
}

namespace {

// The fields /v1/chat/completions and /v1/completions share.
struct OpenAiParams {
    GenRequest gen;
    int64_t n = 1;
    bool stream = false;
    bool include_usage = false;
    std::optional<int64_t> max_tokens;
    TraceAsk trace;
};

OpenAiParams parse_common(Service& service, const Json& body, bool chat) {
    service.check_model(get_string(body, "model"), false);
    OpenAiParams p;
    SamplingParams& s = p.gen.sampling = service.default_sampling();
    if (auto v = get_number(body, "temperature", 0, 2)) s.temperature = *v;
    if (auto v = get_number(body, "top_p", 0, 1)) {
        if (*v == 0) bad_field("top_p", "must be > 0");
        s.top_p = *v;
    }
    if (auto v = get_int(body, "top_k", 0, 1 << 20)) s.top_k = *v;
    if (auto v = get_number(body, "min_p", 0, 1)) s.min_p = *v;
    if (auto v = get_number(body, "presence_penalty", -2, 2)) s.presence_penalty = *v;
    if (auto v = get_number(body, "frequency_penalty", -2, 2)) s.frequency_penalty = *v;
    if (auto v = get_number(body, "repeat_penalty", 0.01, 10)) s.repeat_penalty = *v;
    if (auto v = get_int(body, "seed", INT64_MIN, INT64_MAX)) s.seed = static_cast<uint64_t>(*v);
    p.max_tokens = get_int(body, "max_tokens", 0, 1 << 30);
    if (auto v = get_int(body, "max_completion_tokens", 0, 1 << 30)) p.max_tokens = v;
    p.n = get_int(body, "n", 1, 16).value_or(1);
    p.gen.stop = get_stop(body, "stop");
    p.stream = get_bool(body, "stream").value_or(false);
    if (const Json* so = field(body, "stream_options")) {
        if (!so->is_object()) bad_field("stream_options", "expected an object");
        p.include_usage = get_bool(*so, "include_usage", "stream_options.").value_or(false);
    }
    if (chat) {
        p.gen.logprobs = get_bool(body, "logprobs").value_or(false);
        p.gen.top_logprobs = get_int(body, "top_logprobs", 0, 20).value_or(0);
        if (p.gen.top_logprobs > 0 && !p.gen.logprobs) bad_field("top_logprobs", "needs \"logprobs\": true");
    } else if (const Json* lp = field(body, "logprobs")) {
        // The legacy completions API takes an integer: how many alternatives.
        if (lp->is_bool()) p.gen.logprobs = lp->as_bool();
        else p.gen.top_logprobs = get_int(body, "logprobs", 0, 20).value_or(0), p.gen.logprobs = true;
    }
    return p;
}

Json usage_json(int64_t prompt, int64_t cached, int64_t completion) {
    Json details = Json::object();
    details.set("cached_tokens", cached);
    Json u = Json::object();
    u.set("prompt_tokens", prompt).set("completion_tokens", completion).set("total_tokens", prompt + completion);
    u.set("prompt_tokens_details", std::move(details));
    return u;
}

Json bytes_json(const std::string& s) {
    Json a = Json::array();
    for (unsigned char c : s) a.push(static_cast<int64_t>(c));
    return a;
}

// One step in the chat logprobs shape.
Json chat_logprob(Service& service, const StepLogprobs& step) {
    auto entry = [&](int32_t id, float lp) {
        const std::string text = service.token_bytes(id);
        Json e = Json::object();
        e.set("token", text).set("logprob", static_cast<double>(lp)).set("bytes", bytes_json(text));
        return e;
    };
    Json e = entry(step.id, step.logprob);
    Json top = Json::array();
    for (const TokenLogprob& t : step.top) top.push(entry(t.id, t.logprob));
    e.set("top_logprobs", std::move(top));
    return e;
}

// The legacy completions logprobs shape for a run of steps.
Json completion_logprobs(Service& service, const std::vector<StepLogprobs>& steps, size_t text_offset) {
    Json tokens = Json::array(), lps = Json::array(), tops = Json::array(), offsets = Json::array();
    for (const StepLogprobs& s : steps) {
        const std::string text = service.token_bytes(s.id);
        tokens.push(text);
        lps.push(static_cast<double>(s.logprob));
        Json top = Json::object();
        for (const TokenLogprob& t : s.top) top.set(service.token_bytes(t.id), static_cast<double>(t.logprob));
        tops.push(std::move(top));
        offsets.push(static_cast<int64_t>(text_offset));
        text_offset += text.size();
    }
    Json out = Json::object();
    out.set("tokens", std::move(tokens)).set("token_logprobs", std::move(lps)).set("top_logprobs", std::move(tops));
    out.set("text_offset", std::move(offsets));
    return out;
}

const char* finish_name(FinishReason r, bool tool_calls) {
    if (tool_calls) return "tool_calls";
    return r == FinishReason::length ? "length" : "stop";
}

Json tool_calls_json(const std::vector<ToolCall>& calls, size_t first_index, bool with_index) {
    Json out = Json::array();
    for (size_t i = 0; i < calls.size(); ++i) {
        Json fn = Json::object();
        fn.set("name", calls[i].name).set("arguments", calls[i].arguments_text());
        Json c = Json::object();
        if (with_index) c.set("index", static_cast<int64_t>(first_index + i));
        c.set("id", random_id("call_")).set("type", "function").set("function", std::move(fn));
        out.push(std::move(c));
    }
    return out;
}

void record_usage(const std::vector<std::shared_ptr<Sequence>>& seqs, int64_t& prompt, int64_t& cached, int64_t& completion) {
    prompt = seqs.empty() ? 0 : seqs[0]->prompt_tokens;
    cached = seqs.empty() ? 0 : seqs[0]->cached_tokens;
    completion = 0;
    for (auto& s : seqs) completion += s->completion_tokens;
    request_log().prompt_tokens = prompt;
    request_log().completion_tokens = completion;
}

// llama-server's "timings" object, measured by the scheduler (the chat page
// shows them): prompt tokens evaluated (not cached) and the time to the
// first token; generated tokens, the time from the first token to the last,
// and the decode speed over the tokens after the first.
Json timings_json(const std::vector<std::shared_ptr<Sequence>>& seqs) {
    Json t = Json::object();
    if (seqs.empty()) return t;
    auto ms = [](Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); };
    int64_t predicted = 0;
    double predicted_ms = 0, prompt_ms = 0;
    for (const auto& s : seqs) {
        predicted += s->completion_tokens;
        const Clock::time_point first = s->first_token_at == Clock::time_point{} ? s->finished_at : s->first_token_at;
        predicted_ms = std::max(predicted_ms, ms(s->finished_at - first));
        prompt_ms = std::max(prompt_ms, ms(first - s->started_at));
    }
    const int64_t after_first = predicted - static_cast<int64_t>(seqs.size());
    t.set("prompt_n", seqs[0]->prompt_tokens - seqs[0]->cached_tokens).set("prompt_ms", prompt_ms);
    t.set("predicted_n", predicted).set("predicted_ms", predicted_ms);
    if (after_first > 0 && predicted_ms > 0) t.set("predicted_per_second", after_first * 1000.0 / predicted_ms);
    return t;
}

// State of one streamed response, kept alive by the content provider.
struct Stream {
    Service* service;
    std::vector<std::shared_ptr<Sequence>> seqs;
    std::string id, model;
    int64_t created;
    bool chat, include_usage, tools;
    TraceAsk trace;
};

void stream_response(httplib::Response& res, std::shared_ptr<Stream> st) {
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    res.set_chunked_content_provider(
        "text/event-stream",
        [st](size_t, httplib::DataSink& sink) {
            auto send = [&](const Json& j) {
                const std::string line = "data: " + j.dump() + "\n\n";
                return sink.write(line.data(), line.size());
            };
            auto chunk = [&](size_t index, Json delta_or_text, Json logprobs, Json finish) {
                Json choice = Json::object();
                choice.set("index", static_cast<int64_t>(index));
                if (st->chat) choice.set("delta", std::move(delta_or_text));
                else choice.set("text", std::move(delta_or_text));
                choice.set("logprobs", std::move(logprobs)).set("finish_reason", std::move(finish));
                Json c = Json::object();
                c.set("id", st->id).set("object", st->chat ? "chat.completion.chunk" : "text_completion");
                c.set("created", st->created).set("model", st->model);
                c.set("choices", Json::array().push(std::move(choice)));
                return send(c);
            };
            const size_t n = st->seqs.size();
            std::vector<ToolCallParser> parsers(n);
            std::vector<size_t> calls_sent(n, 0);
            std::vector<size_t> text_offset(n, 0);
            if (st->chat)
                for (size_t i = 0; i < n; ++i) {
                    Json delta = Json::object();
                    delta.set("role", "assistant").set("content", "");
                    if (!chunk(i, std::move(delta), Json(), Json())) return false;
                }
            Service& service = *st->service;
            const bool ok = service.pump(st->seqs, [&](size_t i, const GenEvent& ev) {
                std::vector<ToolCall> calls;
                std::string text = ev.text;
                if (st->tools) text = ev.final ? parsers[i].finish(calls) : parsers[i].push(text, calls);
                Json lp;
                if (ev.logprobs) {
                    if (st->chat) {
                        Json content = Json::array();
                        content.push(chat_logprob(service, *ev.logprobs));
                        lp = Json::object();
                        lp.set("content", std::move(content));
                    } else {
                        lp = completion_logprobs(service, {*ev.logprobs}, text_offset[i]);
                    }
                }
                text_offset[i] += text.size();
                if (!text.empty() || ev.logprobs) {
                    if (st->chat) {
                        Json delta = Json::object();
                        delta.set("content", text);
                        if (!chunk(i, std::move(delta), std::move(lp), Json())) return false;
                    } else if (!chunk(i, Json(text), std::move(lp), Json())) {
                        return false;
                    }
                }
                if (!calls.empty()) {
                    Json delta = Json::object();
                    delta.set("tool_calls", tool_calls_json(calls, calls_sent[i], true));
                    calls_sent[i] += calls.size();
                    if (!chunk(i, std::move(delta), Json(), Json())) return false;
                }
                if (ev.final) {
                    if (!ev.error.empty()) {
                        Json err = Json::object();
                        err.set("error", Json::parse(openai_error_body(ApiError(500, "generation failed: " + ev.error)))["error"]);
                        return send(err);
                    }
                    const char* reason = finish_name(ev.finish, calls_sent[i] > 0);
                    return chunk(i, st->chat ? Json::object() : Json(""), Json(), Json(reason));
                }
                return true;
            });
            if (!ok) return false;
            int64_t prompt = 0, cached = 0, completion = 0;
            record_usage(st->seqs, prompt, cached, completion);
            if (st->include_usage) {
                Json c = Json::object();
                c.set("id", st->id).set("object", st->chat ? "chat.completion.chunk" : "text_completion");
                c.set("created", st->created).set("model", st->model).set("choices", Json::array());
                c.set("usage", usage_json(prompt, cached, completion));
                c.set("timings", timings_json(st->seqs));
                if (!send(c)) return false;
            }
            // The trace figures and fields, since the headers went out first.
            const TraceFigures figures = trace_figures(st->seqs, service.model().config().num_layers);
            log_trace(service, st->seqs, figures);
            if (st->trace.record()) {
                Json c = Json::object();
                c.set("id", st->id).set("object", "trace").set("created", st->created).set("model", st->model);
                c.set("choices", Json::array()).set("trace_headers", trace_headers_json(figures));
                add_trace_fields(service, st->trace, st->seqs, c);
                if (!send(c)) return false;
            }
            const std::string done = "data: [DONE]\n\n";
            if (!sink.write(done.data(), done.size())) return false;
            sink.done();
            return true;
        },
        [st](bool success) {
            if (!success)
                for (auto& s : st->seqs) s->cancel();
        });
}

// "tools" as the chat template takes them; tool_choice "none" hides them and
// a named function keeps only that one.
std::string tools_for_template(const Json& body) {
    const Json* tools = field(body, "tools");
    if (tools == nullptr) return {};
    if (!tools->is_array()) bad_field("tools", "expected a list of tools");
    for (size_t i = 0; i < tools->items().size(); ++i) {
        const Json& t = tools->items()[i];
        const std::string p = fmt::format("tools[{}]", i);
        if (!t.is_object()) bad_field(p, "expected an object {\"type\": \"function\", \"function\": {...}}");
        const Json* fn = field(t, "function");
        if (fn == nullptr || !fn->is_object()) bad_field(p + ".function", "expected an object");
        if (!get_string(*fn, "name", p + ".function.")) bad_field(p + ".function.name", "missing");
    }
    const Json* choice = field(body, "tool_choice");
    if (choice == nullptr || tools->items().empty()) return tools->items().empty() ? std::string() : tools->dump();
    if (choice->is_string()) {
        const std::string& c = choice->as_string();
        if (c == "none") return {};
        if (c == "auto" || c == "required") return tools->dump();
        bad_field("tool_choice", "'" + c + "' is not one of none, auto, required or {\"type\": \"function\", ...}");
    }
    if (!choice->is_object()) bad_field("tool_choice", "expected a string or an object");
    const Json* fn = field(*choice, "function");
    const auto name = fn != nullptr && fn->is_object() ? get_string(*fn, "name", "tool_choice.function.") : std::nullopt;
    if (!name) bad_field("tool_choice.function.name", "missing");
    Json kept = Json::array();
    for (const Json& t : tools->items())
        if (t.find("function")->find("name")->as_string() == *name) kept.push(t);
    if (kept.size() == 0) bad_field("tool_choice", "names '" + *name + "', which is not among the tools");
    return kept.dump();
}

void respond(Service& service, httplib::Response& res, OpenAiParams& p, bool chat, bool tools) {
    const std::string model = service.options().alias;
    auto seqs = service.submit(p.gen, p.n);
    auto st = std::make_shared<Stream>(Stream{&service, seqs, random_id(chat ? "chatcmpl-" : "cmpl-"), model, unix_time(),
                                              chat, p.include_usage, tools, p.trace});
    if (p.stream) {
        stream_response(res, st);
        return;
    }
    const std::vector<ChoiceResult> results = service.collect(seqs);
    Json choices = Json::array();
    for (size_t i = 0; i < results.size(); ++i) {
        const ChoiceResult& r = results[i];
        Json c = Json::object();
        c.set("index", static_cast<int64_t>(i));
        if (chat) {
            std::vector<ToolCall> calls;
            std::string text = r.text;
            if (tools) {
                ToolCallParser parser;
                text = parser.push(r.text, calls);
                text += parser.finish(calls);
            }
            Json msg = Json::object();
            msg.set("role", "assistant").set("content", calls.empty() || !text.empty() ? Json(text) : Json());
            if (!calls.empty()) msg.set("tool_calls", tool_calls_json(calls, 0, false));
            c.set("message", std::move(msg));
            Json lp;
            if (p.gen.logprobs) {
                Json content = Json::array();
                for (const StepLogprobs& s : r.logprobs) content.push(chat_logprob(service, s));
                lp = Json::object();
                lp.set("content", std::move(content));
            }
            c.set("logprobs", std::move(lp)).set("finish_reason", finish_name(r.finish, !calls.empty()));
        } else {
            c.set("text", r.text);
            c.set("logprobs", p.gen.logprobs ? completion_logprobs(service, r.logprobs, 0) : Json());
            c.set("finish_reason", finish_name(r.finish, false));
        }
        choices.push(std::move(c));
    }
    int64_t prompt = 0, cached = 0, completion = 0;
    record_usage(seqs, prompt, cached, completion);
    Json out = Json::object();
    out.set("id", st->id).set("object", chat ? "chat.completion" : "text_completion").set("created", st->created);
    out.set("model", model).set("system_fingerprint", "libapr");
    out.set("choices", std::move(choices)).set("usage", usage_json(prompt, cached, completion));
    const TraceFigures figures = trace_figures(seqs, service.model().config().num_layers);
    set_trace_headers(res, figures);
    add_trace_fields(service, p.trace, seqs, out);
    log_trace(service, seqs, figures);
    res.set_content(out.dump(), "application/json");
}

}  // namespace

void openai_chat_completions(Service& service, const httplib::Request& req, httplib::Response& res) {
    const Json body = parse_body(req);
    OpenAiParams p = parse_common(service, body, true);
    const Json* messages = body.find("messages");
    if (messages == nullptr) bad_field("messages", "missing");
    const std::vector<ChatMessage> msgs = parse_chat_messages(*messages, false);
    const std::string tools = tools_for_template(body);
    std::string prompt;
    try {
        prompt = service.chat_template().render(msgs, true, tools);
    } catch (const std::exception& e) {
        throw ApiError(400, std::string("the chat template rejected these messages: ") + e.what(), "messages",
                       "invalid_value");
    }
    p.gen.prompt = service.prompt_tokens(prompt);
    p.gen.max_tokens = service.max_tokens_for(p.max_tokens, p.gen.prompt.size());
    p.trace = trace_ask(service.options(), req);
    p.gen.record_trace = trace_records(service.options(), p.trace);
    respond(service, res, p, true, !tools.empty());
}

void openai_completions(Service& service, const httplib::Request& req, httplib::Response& res) {
    const Json body = parse_body(req);
    OpenAiParams p = parse_common(service, body, false);
    const Json* prompt = field(body, "prompt");
    if (prompt == nullptr) bad_field("prompt", "missing");
    if (field(body, "echo") != nullptr && get_bool(body, "echo").value_or(false))
        bad_field("echo", "echo is not supported");
    // A string, a list of one string, or a list of token ids.
    if (prompt->is_string()) {
        p.gen.prompt = service.prompt_tokens(prompt->as_string());
    } else if (prompt->is_array() && prompt->items().size() == 1 && prompt->items()[0].is_string()) {
        p.gen.prompt = service.prompt_tokens(prompt->items()[0].as_string());
    } else if (prompt->is_array() && !prompt->items().empty() && prompt->items()[0].is_number()) {
        const int64_t vocab = service.model().config().vocab_size;
        for (size_t i = 0; i < prompt->items().size(); ++i) {
            const Json& t = prompt->items()[i];
            if (!t.is_integer() || t.as_int() < 0 || t.as_int() >= vocab)
                bad_field(fmt::format("prompt[{}]", i), fmt::format("expected a token id in 0..{}", vocab - 1));
            p.gen.prompt.push_back(static_cast<int32_t>(t.as_int()));
        }
        service.check_prompt(p.gen.prompt);
    } else {
        bad_field("prompt", "expected a string, a list of one string, or a list of token ids");
    }
    p.gen.max_tokens = service.max_tokens_for(p.max_tokens ? p.max_tokens : std::optional<int64_t>(16), p.gen.prompt.size());
    p.trace = trace_ask(service.options(), req);
    p.gen.record_trace = trace_records(service.options(), p.trace);
    respond(service, res, p, false, false);
}

void openai_models(Service& service, const httplib::Request&, httplib::Response& res) {
    Json m = Json::object();
    m.set("id", service.options().alias).set("object", "model").set("created", unix_time()).set("owned_by", "libapr");
    Json out = Json::object();
    out.set("object", "list").set("data", Json::array().push(std::move(m)));
    res.set_content(out.dump(), "application/json");
}

}  // namespace apr::serve
