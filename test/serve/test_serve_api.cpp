// `apr serve` on the vendored nano model, driven over HTTP on loopback: the
// OpenAI and Ollama endpoints, streaming and not, their parameters, model
// names, the prefix cache, tokenize/detokenize, metrics, and curl.
#include <catch2/catch.hpp>

#include <array>
#include <thread>
#include <vector>

#include <fmt/core.h>
#include <cstdio>
#include <memory>

#include "serve/serve_process.hpp"
#include "support/fixtures.hpp"
#include "support/shell.hpp"

using apr::test::chat_body;
using apr::test::JsonDoc;
using apr::test::ServeProcess;

namespace {

ServeProcess& server() {
    static std::unique_ptr<ServeProcess> s;
    if (!s) {
        const std::string model = (apr::test::vendored_models_dir() / "nano" / "nano-q4_k_m.gguf").string();
        s = std::make_unique<ServeProcess>(std::vector<std::string>{model, "--parallel", "2", "--alias", "nano"});
    }
    return *s;
}

httplib::Result post(const std::string& path, const std::string& body) {
    return server().client().Post(path.c_str(), body, "application/json");
}

std::string chat_text(const std::string& body) {
    JsonDoc d(body);
    return std::string(std::string_view(d.root["choices"].at(0)["message"]["content"]));
}

const std::string kFour = "What is 2+2? Answer with just the number.";

std::string run_curl(const std::string& args) {
    const std::string cmd = "curl -s --max-time 60 " + args;
    return apr::test::run_shell(cmd).out;
}

}  // namespace

TEST_CASE("serve: /health, /v1/models and the Ollama listings name the served model") {
    auto c = server().client();
    auto h = c.Get("/health");
    REQUIRE(h);
    CHECK(h->status == 200);
    JsonDoc health(h->body);
    CHECK(std::string_view(health.root["status"]) == "ok");
    CHECK(std::string_view(health.root["model"]) == "nano");
    CHECK(std::string_view(health.root["compute_mode"]) == "cpu");
    auto m = c.Get("/v1/models");
    REQUIRE(m);
    JsonDoc models(m->body);
    CHECK(std::string_view(models.root["object"]) == "list");
    CHECK(std::string_view(models.root["data"].at(0)["id"]) == "nano");
    auto t = c.Get("/api/tags");
    REQUIRE(t);
    JsonDoc tags(t->body);
    CHECK(std::string_view(tags.root["models"].at(0)["name"]) == "nano");
    CHECK(std::string_view(tags.root["models"].at(0)["details"]["family"]) == "qwen2");
    auto ps = c.Get("/api/ps");
    REQUIRE(ps);
    CHECK(std::string_view(JsonDoc(ps->body).root["models"].at(0)["model"]) == "nano");
    auto v = c.Get("/api/version");
    REQUIRE(v);
    CHECK(!std::string_view(JsonDoc(v->body).root["version"]).empty());
    auto show = post("/api/show", R"({"model":"nano"})");
    REQUIRE(show);
    CHECK(show->status == 200);
    JsonDoc sd(show->body);
    CHECK(std::string_view(sd.root["template"]).find("<|im_start|>") != std::string_view::npos);
    CHECK(int64_t(sd.root["model_info"]["qwen2.block_count"]) == 4);
}

TEST_CASE("serve: /v1/chat/completions answers 2+2 with 4, with usage") {
    auto r = post("/v1/chat/completions", chat_body(kFour, "\"model\":\"nano\""));
    REQUIRE(r);
    REQUIRE(r->status == 200);
    JsonDoc d(r->body);
    CHECK(std::string_view(d.root["object"]) == "chat.completion");
    CHECK(std::string_view(d.root["model"]) == "nano");
    CHECK(std::string_view(d.root["choices"].at(0)["message"]["role"]) == "assistant");
    CHECK(std::string_view(d.root["choices"].at(0)["message"]["content"]) == "4");
    CHECK(std::string_view(d.root["choices"].at(0)["finish_reason"]) == "stop");
    CHECK(int64_t(d.root["usage"]["prompt_tokens"]) > 10);
    CHECK(int64_t(d.root["usage"]["completion_tokens"]) == 2);  // "4" and <|im_end|>
    CHECK(int64_t(d.root["usage"]["total_tokens"]) == int64_t(d.root["usage"]["prompt_tokens"]) + 2);
    CHECK(int64_t(d.root["usage"]["prompt_tokens_details"]["cached_tokens"]) >= 0);
}

TEST_CASE("serve: streamed chat equals the unstreamed answer and ends with [DONE], usage last when asked") {
    const std::string whole = chat_text(post("/v1/chat/completions", chat_body("Hi"))->body);
    CHECK(whole == "Hello! How can I help you today?");
    auto r = post("/v1/chat/completions", chat_body("Hi", R"("stream":true,"stream_options":{"include_usage":true})"));
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->get_header_value("Content-Type").find("text/event-stream") == 0);
    const auto events = apr::test::sse_data(r->body);
    REQUIRE(events.size() >= 4);
    CHECK(events.back() == "[DONE]");
    std::string text, finish;
    int with_usage = 0;
    for (size_t i = 0; i + 1 < events.size(); ++i) {
        JsonDoc d(events[i]);
        CHECK(std::string_view(d.root["object"]) == "chat.completion.chunk");
        simdjson::dom::array choices = d.root["choices"];
        if (choices.size() == 0) {
            ++with_usage;
            const int64_t completion = int64_t(d.root["usage"]["completion_tokens"]);
            CHECK(completion > 5);
            CHECK(i + 2 == events.size());  // the usage chunk comes last
            // With it, llama-server's timings (the chat page shows the decode speed).
            auto t = d.root["timings"];
            INFO(events[i]);
            CHECK(int64_t(t["predicted_n"]) == completion);
            CHECK(int64_t(t["prompt_n"]) > 0);
            CHECK(double(t["predicted_ms"]) > 0);
            CHECK(double(t["prompt_ms"]) > 0);
            const double rate = double(t["predicted_per_second"]);
            CHECK(rate == Approx((completion - 1) * 1000.0 / double(t["predicted_ms"])).epsilon(1e-6));
            continue;
        }
        auto delta = choices.at(0)["delta"];
        std::string_view piece;
        if (!delta["content"].get(piece)) text += piece;
        if (!choices.at(0)["finish_reason"].is_null()) finish = std::string(std::string_view(choices.at(0)["finish_reason"]));
    }
    CHECK(text == whole);
    CHECK(finish == "stop");
    CHECK(with_usage == 1);
}

TEST_CASE("serve: /v1/completions with a raw prompt, streamed and not") {
    const std::string prompt = R"("prompt":"<|im_start|>user\nWhat is 7*8?<|im_end|>\n<|im_start|>assistant\n","temperature":0,"max_tokens":8)";
    auto r = post("/v1/completions", "{" + prompt + "}");
    REQUIRE(r);
    REQUIRE(r->status == 200);
    JsonDoc d(r->body);
    CHECK(std::string_view(d.root["object"]) == "text_completion");
    CHECK(std::string_view(d.root["choices"].at(0)["text"]) == "56");
    auto s = post("/v1/completions", "{" + prompt + ",\"stream\":true}");
    REQUIRE(s);
    std::string text;
    const auto events = apr::test::sse_data(s->body);
    REQUIRE(!events.empty());
    CHECK(events.back() == "[DONE]");
    for (size_t i = 0; i + 1 < events.size(); ++i) text += std::string_view(JsonDoc(events[i]).root["choices"].at(0)["text"]);
    CHECK(text == "56");
}

TEST_CASE("serve: n choices, logprobs with top_logprobs, stop strings and max_tokens") {
    auto r = post("/v1/chat/completions", chat_body("Hi", R"("n":2,"logprobs":true,"top_logprobs":3)"));
    REQUIRE(r);
    REQUIRE(r->status == 200);
    JsonDoc d(r->body);
    simdjson::dom::array choices = d.root["choices"];
    REQUIRE(choices.size() == 2);
    for (auto c : choices) {
        CHECK(std::string_view(c["message"]["content"]) == "Hello! How can I help you today?");
        simdjson::dom::array content = c["logprobs"]["content"];
        CHECK(content.size() >= 9);
        for (auto step : content) {
            simdjson::dom::array top = step["top_logprobs"];
            REQUIRE(top.size() == 3);
            // greedy: the chosen token is the most likely one
            CHECK(std::string_view(step["token"]) == std::string_view(top.at(0)["token"]));
            CHECK(double(step["logprob"]) <= 0.0);
        }
    }
    CHECK(int64_t(d.root["usage"]["completion_tokens"]) == 2 * int64_t(JsonDoc(post("/v1/chat/completions", chat_body("Hi"))->body).root["usage"]["completion_tokens"]));

    auto stop = post("/v1/chat/completions", chat_body("Hi", R"("stop":[" How","zzz"])"));
    REQUIRE(stop);
    JsonDoc sd(stop->body);
    CHECK(std::string_view(sd.root["choices"].at(0)["message"]["content"]) == "Hello!");
    CHECK(std::string_view(sd.root["choices"].at(0)["finish_reason"]) == "stop");

    auto len = post("/v1/chat/completions", chat_body("Hi", R"("max_completion_tokens":3)"));
    REQUIRE(len);
    JsonDoc ld(len->body);
    CHECK(std::string_view(ld.root["choices"].at(0)["finish_reason"]) == "length");
    CHECK(int64_t(ld.root["usage"]["completion_tokens"]) == 3);
}

TEST_CASE("serve: seeded sampling repeats, and content given as text parts") {
    const std::string extra = R"("temperature":1.0,"top_k":0,"top_p":1,"min_p":0,"seed":42,"max_tokens":12)";
    const std::string body = R"({"messages":[{"role":"user","content":[{"type":"text","text":"Write a Python "},{"type":"text","text":"function that reverses a string."}]}],)" + extra + "}";
    const std::string a = chat_text(post("/v1/chat/completions", body)->body);
    const std::string b = chat_text(post("/v1/chat/completions", body)->body);
    CHECK(!a.empty());
    CHECK(a == b);
}

TEST_CASE("serve: a follow-up turn reuses the slot's cached prefix (cached_tokens)") {
    const std::string first = R"({"messages":[{"role":"user","content":"What is 2+2? Answer with just the number."}],"temperature":0})";
    auto r1 = post("/v1/chat/completions", first);
    REQUIRE(r1);
    JsonDoc d1(r1->body);
    const int64_t p1 = int64_t(d1.root["usage"]["prompt_tokens"]);
    const std::string second = R"({"messages":[{"role":"user","content":"What is 2+2? Answer with just the number."},)"
                               R"({"role":"assistant","content":"4"},{"role":"user","content":"What is 7*8?"}],"temperature":0})";
    auto r2 = post("/v1/chat/completions", second);
    REQUIRE(r2);
    JsonDoc d2(r2->body);
    // "56" or "7 * 8 = 56" depending on the kernels' rounding; the same with or without the cache
    CHECK(std::string_view(d2.root["choices"].at(0)["message"]["content"]).find("56") != std::string_view::npos);
    const int64_t cached = int64_t(d2.root["usage"]["prompt_tokens_details"]["cached_tokens"]);
    // everything of the first exchange but the closing tokens is reused
    CHECK(cached >= p1);
    CHECK(cached < int64_t(d2.root["usage"]["prompt_tokens"]));
}

TEST_CASE("serve: identical prompts admitted together evaluate their prefix once (one reads it, the others copy it)") {
    const std::string model = (apr::test::vendored_models_dir() / "nano" / "nano-q4_k_m.gguf").string();
    ServeProcess s({model, "--parallel", "4", "--ctx-size", "2048"});
    auto completion = [&](const std::string& prompt, int64_t max_tokens) {
        auto r = s.client(120).Post(
            "/v1/completions", fmt::format(R"({{"prompt":"{}","max_tokens":{},"temperature":0}})", prompt, max_tokens),
            "application/json");
        REQUIRE(r);
        REQUIRE(r->status == 200);
        return std::string(r->body);
    };
    // A ~1,700-token prompt holds every step's whole token budget (256) for
    // several steps; the three identical requests sent meanwhile all wait in
    // slots for budget and are first read in the same step.
    std::string blocker;
    for (int i = 0; i < 450; ++i) blocker += fmt::format("n{} ", i);
    std::thread first([&] { completion(blocker, 1); });
    for (int i = 0; i < 500; ++i) {
        const std::string m = std::string(s.client().Get("/metrics")->body);
        if (m.find("apr_busy_slots 1") != std::string::npos) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    const std::string twin = "Write a Python function that reverses a string, and explain each step of it in detail. "
                             "Then write one that checks if a number is even, and explain that one too.";
    std::array<std::string, 3> bodies;
    {
        std::vector<std::thread> ts;
        for (size_t i = 0; i < bodies.size(); ++i) ts.emplace_back([&, i] { bodies[i] = completion(twin, 8); });
        for (auto& t : ts) t.join();
    }
    first.join();
    int64_t prompt_tokens = 0, evaluated = 0;
    std::vector<std::string> texts;
    for (const std::string& b : bodies) {
        JsonDoc d(b);
        prompt_tokens = int64_t(d.root["usage"]["prompt_tokens"]);
        evaluated += prompt_tokens - int64_t(d.root["usage"]["prompt_tokens_details"]["cached_tokens"]);
        texts.emplace_back(std::string_view(d.root["choices"].at(0)["text"]));
    }
    INFO("prompt tokens " << prompt_tokens << ", evaluated in all three " << evaluated);
    REQUIRE(prompt_tokens > 20);
    // One reads the prompt; the others copy all of it but the last token
    // (evaluated for its logits). Each reading its own would be 3x.
    CHECK(evaluated <= prompt_tokens + 2);
    // The copies are the evaluated bits: the same greedy answer, also alone.
    CHECK(texts[0] == texts[1]);
    CHECK(texts[0] == texts[2]);
    JsonDoc alone(completion(twin, 8));
    CHECK(std::string(std::string_view(alone.root["choices"].at(0)["text"])) == texts[0]);
    CHECK(s.stop() == 0);
}

TEST_CASE("serve: Ollama /api/chat streams NDJSON by default and answers whole with stream false") {
    auto r = post("/api/chat", R"({"model":"nano","messages":[{"role":"user","content":"What is 7*8?"}],"options":{"temperature":0}})");
    REQUIRE(r);
    REQUIRE(r->status == 200);
    CHECK(r->get_header_value("Content-Type").find("application/x-ndjson") == 0);
    const auto lines = apr::test::ndjson_lines(r->body);
    REQUIRE(lines.size() >= 2);
    std::string text;
    for (size_t i = 0; i < lines.size(); ++i) {
        JsonDoc d(lines[i]);
        text += std::string_view(d.root["message"]["content"]);
        CHECK(bool(d.root["done"]) == (i + 1 == lines.size()));
    }
    CHECK(text == "56");
    JsonDoc last(lines.back());
    CHECK(std::string_view(last.root["done_reason"]) == "stop");
    for (const char* f : {"total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration", "eval_count", "eval_duration"})
        CHECK(int64_t(last.root[f]) >= 0);
    CHECK(int64_t(last.root["eval_count"]) == 3);
    CHECK(int64_t(last.root["total_duration"]) > 0);

    auto whole = post("/api/chat", R"({"model":"nano:latest","stream":false,"keep_alive":"5m","messages":[{"role":"user","content":"What is 7*8?"}],"options":{"temperature":0,"num_ctx":1024,"seed":1,"top_k":10,"top_p":0.9}})");
    REQUIRE(whole);
    REQUIRE(whole->status == 200);
    JsonDoc w(whole->body);
    CHECK(std::string_view(w.root["message"]["content"]) == "56");
    CHECK(bool(w.root["done"]));
}

TEST_CASE("serve: Ollama /api/generate with system, raw and num_predict") {
    auto r = post("/api/generate", R"({"prompt":"What is 2+2? Answer with just the number.","stream":false,"options":{"temperature":0}})");
    REQUIRE(r);
    REQUIRE(r->status == 200);
    JsonDoc d(r->body);
    CHECK(std::string_view(d.root["response"]) == "4");
    CHECK(simdjson::dom::array(d.root["context"]).size() > 10);
    auto raw = post("/api/generate", R"({"prompt":"<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n","raw":true,"stream":false,"options":{"temperature":0,"num_predict":2}})");
    REQUIRE(raw);
    JsonDoc rd(raw->body);
    CHECK(std::string_view(rd.root["response"]) == "Hello!");
    CHECK(std::string_view(rd.root["done_reason"]) == "length");
    auto streamed = post("/api/generate", R"({"prompt":"Hi","system":"You are a helpful assistant.","options":{"temperature":0,"stop":["!"]}})");
    REQUIRE(streamed);
    std::string text;
    for (const auto& line : apr::test::ndjson_lines(streamed->body)) text += std::string_view(JsonDoc(line).root["response"]);
    CHECK(text == "Hello");
    auto load = post("/api/generate", R"({"model":"nano"})");
    REQUIRE(load);
    CHECK(std::string_view(JsonDoc(load->body).root["done_reason"]) == "load");
}

TEST_CASE("serve: another model's name is 404 in each API's error shape; no model means the served one") {
    auto o = post("/v1/chat/completions", chat_body("Hi", R"("model":"gpt-4")"));
    REQUIRE(o);
    CHECK(o->status == 404);
    JsonDoc od(o->body);
    CHECK(std::string_view(od.root["error"]["code"]) == "model_not_found");
    CHECK(std::string_view(od.root["error"]["param"]) == "model");
    CHECK(std::string_view(od.root["error"]["message"]).find("gpt-4") != std::string_view::npos);
    auto l = post("/api/chat", R"({"model":"llama3","messages":[{"role":"user","content":"Hi"}]})");
    REQUIRE(l);
    CHECK(l->status == 404);
    CHECK(std::string_view(JsonDoc(l->body).root["error"]).find("llama3") != std::string_view::npos);
    auto s = post("/api/show", R"({"model":"llama3"})");
    REQUIRE(s);
    CHECK(s->status == 404);
}

TEST_CASE("serve: /tokenize and /detokenize round-trip") {
    auto t = post("/tokenize", R"({"content":"<|im_start|>def f(): pass"})");
    REQUIRE(t);
    REQUIRE(t->status == 200);
    JsonDoc td(t->body);
    simdjson::dom::array ids = td.root["tokens"];
    REQUIRE(ids.size() > 2);
    CHECK(int64_t(ids.at(0)) == 2017);
    std::string list = "[";
    for (auto id : ids) list += (list.size() > 1 ? "," : "") + std::to_string(int64_t(id));
    auto d = post("/detokenize", "{\"tokens\":" + list + "]}");
    REQUIRE(d);
    CHECK(std::string_view(JsonDoc(d->body).root["content"]) == "<|im_start|>def f(): pass");
    auto pieces = post("/tokenize", R"({"content":"def","with_pieces":true})");
    REQUIRE(pieces);
    CHECK(std::string_view(JsonDoc(pieces->body).root["tokens"].at(0)["piece"]) == "def");
}

TEST_CASE("serve: tools are rendered into the prompt; tool_choice none leaves them out; tool turns are accepted") {
    const std::string tools = R"("tools":[{"type":"function","function":{"name":"get_weather","description":"Weather of a city","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}])";
    auto plain = post("/v1/chat/completions", chat_body(kFour, "\"max_tokens\":1"));
    auto with = post("/v1/chat/completions", chat_body(kFour, tools + ",\"max_tokens\":1"));
    auto none = post("/v1/chat/completions", chat_body(kFour, tools + ",\"tool_choice\":\"none\",\"max_tokens\":1"));
    REQUIRE((plain && with && none));
    REQUIRE(with->status == 200);
    const int64_t p0 = int64_t(JsonDoc(plain->body).root["usage"]["prompt_tokens"]);
    CHECK(int64_t(JsonDoc(with->body).root["usage"]["prompt_tokens"]) > p0 + 20);
    CHECK(int64_t(JsonDoc(none->body).root["usage"]["prompt_tokens"]) == p0);
    // A finished tool round: the assistant's call and the tool's result go back through the template.
    const std::string turn = R"({"temperature":0,"max_tokens":4,)" + tools + R"(,"messages":[{"role":"user","content":"Weather in Paris?"},)"
        R"({"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},)"
        R"({"role":"tool","tool_call_id":"call_1","content":"sunny, 21 C"}]})";
    auto r = post("/v1/chat/completions", turn);
    REQUIRE(r);
    CHECK(r->status == 200);
    auto tok = post("/tokenize", R"({"content":"<tool_response>"})");
    REQUIRE(tok);
    CHECK(r->body.find("\"prompt_tokens\":") != std::string::npos);
}

TEST_CASE("serve: /metrics is Prometheus text with requests, tokens, gauges and latency histograms") {
    post("/v1/chat/completions", chat_body(kFour));
    auto m = server().client().Get("/metrics");
    REQUIRE(m);
    CHECK(m->status == 200);
    const std::string& t = m->body;
    CHECK(t.find("apr_requests_total{endpoint=\"/v1/chat/completions\",status=\"200\"}") != std::string::npos);
    CHECK(t.find("apr_generated_tokens_total ") != std::string::npos);
    CHECK(t.find("apr_prompt_tokens_total ") != std::string::npos);
    CHECK(t.find("apr_queue_depth 0") != std::string::npos);
    CHECK(t.find("apr_busy_slots ") != std::string::npos);
    CHECK(t.find("apr_time_to_first_token_seconds_bucket{le=\"+Inf\"}") != std::string::npos);
    CHECK(t.find("apr_token_latency_seconds_count ") != std::string::npos);
}

TEST_CASE("serve: curl, streaming and not, and the log line of each request") {
    const std::string url = "http://127.0.0.1:" + std::to_string(server().port());
    const std::string body = chat_body(kFour);
    const std::string whole = run_curl("-H 'Content-Type: application/json' -d '" + body + "' " + url + "/v1/chat/completions");
    CHECK(chat_text(whole) == "4");
    const std::string streamed = run_curl("-N -H 'Content-Type: application/json' -d '" + chat_body(kFour, "\"stream\":true") + "' " + url + "/v1/chat/completions");
    CHECK(streamed.find("data: [DONE]") != std::string::npos);
    CHECK(streamed.find("\"content\":\"4\"") != std::string::npos);
    const std::string ollama = run_curl("-d '{\"model\":\"nano\",\"prompt\":\"What is 7*8?\",\"stream\":false,\"options\":{\"temperature\":0}}' " + url + "/api/generate");
    CHECK(ollama.find("\"response\":\"56\"") != std::string::npos);
    CHECK(ollama.find("\"done\":true") != std::string::npos);
    const std::string log = server().log();
    CHECK(log.find("POST /v1/chat/completions 200 prompt=") != std::string::npos);
    CHECK(log.find("POST /api/generate 200 prompt=") != std::string::npos);
}

TEST_CASE("serve: the chat page and its files come from the binary at / and /assets/, revalidated by ETag") {
    auto c = server().client();
    auto page = c.Get("/");
    REQUIRE(page);
    CHECK(page->status == 200);
    CHECK(page->get_header_value("Content-Type") == "text/html; charset=utf-8");
    CHECK(page->body.find("<script type=\"module\" src=\"/assets/app.js\"></script>") != std::string::npos);
    // Only the page's own scripts may run (the second wall behind the renderer).
    const std::string csp = page->get_header_value("Content-Security-Policy");
    CHECK(csp.find("script-src 'self'") != std::string::npos);
    CHECK(csp.find("default-src 'none'") != std::string::npos);
    CHECK(page->get_header_value("X-Content-Type-Options") == "nosniff");
    for (const char* asset : {"/assets/app.js", "/assets/markdown.js", "/assets/highlight.js", "/assets/chat_api.js",
                              "/assets/trace_view.js", "/assets/style.css", "/assets/icon.svg"}) {
        INFO(asset);
        auto r = c.Get(asset);
        REQUIRE(r);
        CHECK(r->status == 200);
        CHECK(r->body.size() > 100);
        const std::string etag = r->get_header_value("ETag");
        REQUIRE(etag.size() > 2);
        auto again = c.Get(asset, {{"If-None-Match", etag}});
        REQUIRE(again);
        CHECK(again->status == 304);
        CHECK(again->body.empty());
    }
    CHECK(c.Get("/assets/app.js")->get_header_value("Content-Type") == "text/javascript; charset=utf-8");
    auto missing = c.Get("/assets/nothing.js");
    REQUIRE(missing);
    CHECK(missing->status == 404);
    JsonDoc err(missing->body);
    CHECK(std::string_view(err.root["error"]["code"]) == "not_found");
}

TEST_CASE("serve: SIGTERM stops the server with exit 0 within seconds") {
    double ms = 0;
    CHECK(server().stop(std::chrono::milliseconds(8000), &ms) == 0);
    CHECK(ms < 5000);
}
