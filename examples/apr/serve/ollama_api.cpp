// The Ollama API: /api/chat and /api/generate (NDJSON streaming by default,
// or one object with "stream": false), /api/tags, /api/ps, /api/version and
// /api/show. Durations are nanoseconds, as Ollama reports them.
#include <fmt/core.h>

#include <filesystem>
#include <memory>

#include "apr/version.hpp"
#include "serve/api.hpp"
#include "serve/fields.hpp"
#include "serve/request_trace.hpp"
#include "serve/tool_calls.hpp"

namespace apr::serve {

std::string ollama_error_body(const ApiError& e) {
    Json out = Json::object();
    out.set("error", e.what());
    return out.dump();
}

namespace {

struct OllamaParams {
    GenRequest gen;
    bool stream = true;
    int64_t num_ctx = 0;
    std::optional<int64_t> num_predict;
    TraceAsk trace;
};

OllamaParams parse_common(Service& service, const Json& body) {
    service.check_model(get_string(body, "model"), true);
    OllamaParams p;
    p.stream = get_bool(body, "stream").value_or(true);
    SamplingParams& s = p.gen.sampling = service.default_sampling();
    // keep_alive (a duration string or seconds) is accepted: the model stays loaded for the server's life.
    if (const Json* ka = field(body, "keep_alive"); ka != nullptr && !ka->is_string() && !ka->is_number())
        bad_field("keep_alive", "expected a duration such as \"5m\" or a number of seconds");
    if (const Json* f = field(body, "format"); f != nullptr)
        bad_field("format", "structured output (format) is not supported");
    const Json* o = field(body, "options");
    if (o == nullptr) return p;
    if (!o->is_object()) bad_field("options", "expected an object");
    const std::string pre = "options.";
    if (auto v = get_int(*o, "num_predict", -2, 1 << 30, pre)) {
        if (*v >= 0) p.num_predict = v;  // -1 (and -2, fill the context): until the context is full
    }
    if (auto v = get_int(*o, "num_ctx", 0, 1 << 24, pre)) p.num_ctx = *v;
    if (auto v = get_number(*o, "temperature", 0, 100, pre)) s.temperature = *v;
    if (auto v = get_int(*o, "top_k", 0, 1 << 20, pre)) s.top_k = *v;
    if (auto v = get_number(*o, "top_p", 0, 1, pre)) s.top_p = *v > 0 ? *v : 1.0;
    if (auto v = get_number(*o, "min_p", 0, 1, pre)) s.min_p = *v;
    if (auto v = get_int(*o, "seed", INT64_MIN, INT64_MAX, pre)) s.seed = static_cast<uint64_t>(*v);
    if (auto v = get_number(*o, "repeat_penalty", 0.01, 10, pre)) s.repeat_penalty = *v;
    if (auto v = get_int(*o, "repeat_last_n", -1, 1 << 20, pre)) s.penalty_last_n = *v;
    if (auto v = get_number(*o, "presence_penalty", -2, 2, pre)) s.presence_penalty = *v;
    if (auto v = get_number(*o, "frequency_penalty", -2, 2, pre)) s.frequency_penalty = *v;
    p.gen.stop = get_stop(*o, "stop", pre);
    return p;
}

int64_t ns(Clock::duration d) { return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count(); }

// done_reason and the timings of Ollama's final object.
void final_fields(Json& out, const Sequence& seq, FinishReason finish, Clock::time_point request_start) {
    out.set("done", true).set("done_reason", finish == FinishReason::length ? "length" : "stop");
    const Clock::time_point first = seq.first_token_at == Clock::time_point{} ? seq.finished_at : seq.first_token_at;
    out.set("total_duration", ns(seq.finished_at - request_start));
    out.set("load_duration", ns(seq.started_at - request_start));
    out.set("prompt_eval_count", seq.prompt_tokens - seq.cached_tokens);
    out.set("prompt_eval_duration", ns(first - seq.started_at));
    out.set("eval_count", seq.completion_tokens);
    out.set("eval_duration", ns(seq.finished_at - first));
    request_log().prompt_tokens = seq.prompt_tokens;
    request_log().completion_tokens = seq.completion_tokens;
}

Json ollama_tool_calls(const std::vector<ToolCall>& calls) {
    Json out = Json::array();
    for (const ToolCall& c : calls) {
        Json fn = Json::object();
        fn.set("name", c.name).set("arguments", c.arguments.is_object() ? c.arguments : Json::object());
        Json call = Json::object();
        call.set("function", std::move(fn));
        out.push(std::move(call));
    }
    return out;
}

struct Stream {
    Service* service;
    std::shared_ptr<Sequence> seq;
    std::string model;
    bool chat, tools;
    Clock::time_point start;
    std::vector<int32_t> context;
    TraceAsk trace;  // /api/generate returns prompt + answer ids
};

Json message_json(const std::string& text, const std::vector<ToolCall>& calls) {
    Json m = Json::object();
    m.set("role", "assistant").set("content", text);
    if (!calls.empty()) m.set("tool_calls", ollama_tool_calls(calls));
    return m;
}

void respond(Service& service, httplib::Response& res, OllamaParams& p, bool chat, bool tools) {
    auto seqs = service.submit(p.gen, 1);
    auto st = std::make_shared<Stream>(Stream{&service, seqs[0], service.options().alias, chat, tools,
                                              request_log().start, p.gen.prompt, p.trace});
    if (!p.stream) {
        const ChoiceResult r = service.collect(seqs)[0];
        std::vector<ToolCall> calls;
        std::string text = r.text;
        if (tools) {
            ToolCallParser parser;
            text = parser.push(r.text, calls);
            text += parser.finish(calls);
        }
        Json out = Json::object();
        out.set("model", st->model).set("created_at", rfc3339_now());
        if (chat) out.set("message", message_json(text, calls));
        else out.set("response", text);
        final_fields(out, *st->seq, r.finish, st->start);
        const TraceFigures figures = trace_figures(seqs, service.model().config().num_layers);
        set_trace_headers(res, figures);
        add_trace_fields(service, p.trace, seqs, out);
        log_trace(service, seqs, figures);
        if (!chat) {
            Json ctx = Json::array();
            for (int32_t t : p.gen.prompt) ctx.push(t);
            for (int32_t t : r.tokens) ctx.push(t);
            out.set("context", std::move(ctx));
        }
        res.set_content(out.dump(), "application/json");
        return;
    }
    res.set_chunked_content_provider(
        "application/x-ndjson",
        [st](size_t, httplib::DataSink& sink) {
            auto send = [&](const Json& j) {
                const std::string line = j.dump() + "\n";
                return sink.write(line.data(), line.size());
            };
            ToolCallParser parser;
            const bool ok = st->service->pump({st->seq}, [&](size_t, const GenEvent& ev) {
                std::vector<ToolCall> calls;
                std::string text = ev.text;
                if (st->tools) text = ev.final ? parser.finish(calls) : parser.push(text, calls);
                if (!ev.final) st->context.push_back(ev.id);
                Json out = Json::object();
                out.set("model", st->model).set("created_at", rfc3339_now());
                if (st->chat) out.set("message", message_json(text, calls));
                else out.set("response", text);
                if (!ev.final) {
                    if (text.empty() && calls.empty()) return true;
                    out.set("done", false);
                    return send(out);
                }
                if (!ev.error.empty()) {
                    Json err = Json::object();
                    err.set("error", "generation failed: " + ev.error);
                    return send(err);
                }
                final_fields(out, *st->seq, ev.finish, st->start);
                if (!st->chat) {
                    Json ctx = Json::array();
                    for (int32_t t : st->context) ctx.push(t);
                    out.set("context", std::move(ctx));
                }
                // The last line carries the trace: the headers went out first.
                const TraceFigures figures = trace_figures({st->seq}, st->service->model().config().num_layers);
                log_trace(*st->service, {st->seq}, figures);
                if (st->trace.record()) {
                    out.set("trace_headers", trace_headers_json(figures));
                    add_trace_fields(*st->service, st->trace, {st->seq}, out);
                }
                return send(out);
            });
            if (!ok) return false;
            sink.done();
            return true;
        },
        [st](bool success) {
            if (!success) st->seq->cancel();
        });
}

Json details_json(Service& service) {
    const ModelFile& file = service.model().file();
    Json d = Json::object();
    d.set("parent_model", "").set("format", std::string(file_format_name(file.format())));
    d.set("family", service.model().config().architecture);
    d.set("families", Json::array().push(service.model().config().architecture));
    int64_t params = 0;
    for (const TensorView& t : file.tensors()) params += t.elements();
    d.set("parameter_size", params >= 1000000000 ? fmt::format("{:.1f}B", params / 1e9) : fmt::format("{:.1f}M", params / 1e6));
    std::string quant;
    if (const MetaValue* ft = file.find_metadata("general.file_type"))
        if (auto v = meta_int(*ft)) quant = fmt::format("file_type {}", *v);
    const std::string stem = std::filesystem::path(service.options().model_path).stem().string();
    for (const char* q : {"q4_k_m", "q4_0", "q8_0", "q6_k", "q5_k_m", "f16", "bf16", "f32"})
        if (stem.find(q) != std::string::npos) quant = q;
    for (char& c : quant) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    d.set("quantization_level", quant);
    return d;
}

Json model_entry(Service& service, bool ps) {
    std::error_code ec;
    const auto size = std::filesystem::is_regular_file(service.options().model_path, ec)
                          ? static_cast<int64_t>(std::filesystem::file_size(service.options().model_path, ec))
                          : int64_t{0};
    Json m = Json::object();
    m.set("name", service.options().alias).set("model", service.options().alias);
    if (!ps) m.set("modified_at", rfc3339_now());
    m.set("size", size).set("digest", "").set("details", details_json(service));
    if (ps) m.set("expires_at", "2999-01-01T00:00:00Z").set("size_vram", 0);
    return m;
}

}  // namespace

void ollama_chat(Service& service, const httplib::Request& req, httplib::Response& res) {
    const Json body = parse_body(req);
    OllamaParams p = parse_common(service, body);
    const Json* messages = body.find("messages");
    if (messages == nullptr) bad_field("messages", "missing");
    const std::vector<ChatMessage> msgs = parse_chat_messages(*messages, true);
    std::string tools;
    if (const Json* t = field(body, "tools")) {
        if (!t->is_array()) bad_field("tools", "expected a list of tools");
        if (t->size() > 0) tools = t->dump();
    }
    std::string prompt;
    try {
        prompt = service.chat_template().render(msgs, true, tools);
    } catch (const std::exception& e) {
        throw ApiError(400, std::string("the chat template rejected these messages: ") + e.what(), "messages");
    }
    p.gen.prompt = service.prompt_tokens(prompt, p.num_ctx);
    p.gen.max_tokens = service.max_tokens_for(p.num_predict, p.gen.prompt.size(), p.num_ctx);
    p.trace = trace_ask(service.options(), req);
    p.gen.record_trace = trace_records(service.options(), p.trace);
    respond(service, res, p, true, !tools.empty());
}

void ollama_generate(Service& service, const httplib::Request& req, httplib::Response& res) {
    const Json body = parse_body(req);
    OllamaParams p = parse_common(service, body);
    const std::string prompt = get_string(body, "prompt").value_or("");
    const auto system = get_string(body, "system");
    const bool raw = get_bool(body, "raw").value_or(false);
    if (field(body, "images") != nullptr) bad_field("images", "images are not supported by this model");
    if (prompt.empty() && !system) {
        // Ollama's way to ask for the model to be loaded: answer at once.
        Json out = Json::object();
        out.set("model", service.options().alias).set("created_at", rfc3339_now()).set("response", "");
        out.set("done", true).set("done_reason", "load");
        res.set_content(out.dump(), "application/json");
        return;
    }
    std::string text;
    if (raw) {
        text = prompt;
    } else {
        std::vector<ChatMessage> msgs;
        if (system) msgs.push_back({"system", *system, {}});
        msgs.push_back({"user", prompt, {}});
        text = service.chat_template().render(msgs, true);
    }
    p.gen.prompt = service.prompt_tokens(text, p.num_ctx);
    p.gen.max_tokens = service.max_tokens_for(p.num_predict, p.gen.prompt.size(), p.num_ctx);
    p.trace = trace_ask(service.options(), req);
    p.gen.record_trace = trace_records(service.options(), p.trace);
    respond(service, res, p, false, false);
}

void ollama_show(Service& service, const httplib::Request& req, httplib::Response& res) {
    const Json body = parse_body(req);
    auto name = get_string(body, "model");
    if (!name) name = get_string(body, "name");  // the older field name
    if (!name) bad_field("model", "missing");
    service.check_model(name, true);
    const ModelConfig& c = service.model().config();
    Json info = Json::object();
    const std::string a = c.architecture;
    info.set("general.architecture", a).set(a + ".context_length", c.context_length);
    info.set(a + ".embedding_length", c.hidden_size).set(a + ".block_count", c.num_layers);
    info.set(a + ".attention.head_count", c.num_heads).set(a + ".attention.head_count_kv", c.num_kv_heads);
    info.set(a + ".feed_forward_length", c.intermediate_size).set(a + ".vocab_size", c.vocab_size);
    Json out = Json::object();
    out.set("modelfile", "").set("parameters", "").set("template", service.chat_template().source());
    out.set("details", details_json(service)).set("model_info", std::move(info));
    out.set("capabilities", Json::array().push("completion").push("tools"));
    out.set("modified_at", rfc3339_now());
    res.set_content(out.dump(), "application/json");
}

void ollama_tags(Service& service, const httplib::Request&, httplib::Response& res) {
    Json out = Json::object();
    out.set("models", Json::array().push(model_entry(service, false)));
    res.set_content(out.dump(), "application/json");
}

void ollama_ps(Service& service, const httplib::Request&, httplib::Response& res) {
    Json out = Json::object();
    out.set("models", Json::array().push(model_entry(service, true)));
    res.set_content(out.dump(), "application/json");
}

void ollama_version(Service&, const httplib::Request&, httplib::Response& res) {
    Json out = Json::object();
    out.set("version", std::string(version_string()));
    res.set_content(out.dump(), "application/json");
}

}  // namespace apr::serve
