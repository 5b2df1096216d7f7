// `apr serve` under abuse: every kind of bad request gets a JSON error in its
// API's shape with the right status; clients that disconnect mid-stream free
// their slot; stalled and slow clients do not hold the server; a full queue
// answers 503 with Retry-After; API keys and CORS. Afterwards /health answers
// and a completion is still right.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <memory>
#include <thread>

#include "serve/serve_process.hpp"
#include "support/fixtures.hpp"

using apr::test::chat_body;
using apr::test::JsonDoc;
using apr::test::ServeProcess;

namespace {

std::string model_path() { return (apr::test::vendored_models_dir() / "nano" / "nano-q4_k_m.gguf").string(); }

ServeProcess& server() {
    static std::unique_ptr<ServeProcess> s;
    if (!s)
        s = std::make_unique<ServeProcess>(std::vector<std::string>{model_path(), "--parallel", "2", "--ctx-size", "256",
                                                                    "--body-limit", "65536", "--timeout", "2"});
    return *s;
}

// Checks an OpenAI-shaped error: {"error": {"message", "type", "param", "code"}}.
void check_openai_error(const httplib::Result& r, int status, const std::string& param = "") {
    REQUIRE(r);
    CHECK(r->status == status);
    CHECK(r->get_header_value("Content-Type") == "application/json");
    JsonDoc d(r->body);
    CHECK(!std::string_view(d.root["error"]["message"]).empty());
    CHECK(!std::string_view(d.root["error"]["type"]).empty());
    if (!param.empty()) CHECK(std::string_view(d.root["error"]["param"]) == param);
}

void check_ollama_error(const httplib::Result& r, int status) {
    REQUIRE(r);
    CHECK(r->status == status);
    JsonDoc d(r->body);
    CHECK(!std::string_view(d.root["error"]).empty());
}

httplib::Result post(const std::string& path, const std::string& body, const std::string& type = "application/json") {
    return server().client().Post(path.c_str(), body, type.c_str());
}

int connect_loopback(int port) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    return fd;
}

std::string raw_request(const std::string& path, const std::string& body) {
    return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
}

int64_t metric(const std::string& text, const std::string& name) {
    const size_t at = text.find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    return std::stoll(text.substr(at + name.size() + 2));
}

// A POST whose body is read as it streams; `receiver` returning false drops the connection.
httplib::Result post_streaming(httplib::Client& c, const std::string& path, const std::string& body,
                               std::function<bool(const char*, size_t)> receiver) {
    httplib::Request req;
    req.method = "POST";
    req.path = path;
    req.body = body;
    req.set_header("Content-Type", "application/json");
    req.content_receiver = [receiver](const char* data, size_t n, uint64_t, uint64_t) { return receiver(data, n); };
    return c.send(req);
}

const std::string kFour = "What is 2+2? Answer with just the number.";
const std::string kLongCode = R"({"prompt":"import os\nimport sys\n\ndef main():\n","temperature":0,"max_tokens":200,"stream":true})";

}  // namespace

TEST_CASE("robustness: malformed JSON, wrong types and out-of-range values are 400 naming the field") {
    check_openai_error(post("/v1/chat/completions", "{\"messages\": [", "application/json"), 400);
    check_openai_error(post("/v1/chat/completions", "[1,2]"), 400);
    check_openai_error(post("/v1/chat/completions", ""), 400);
    check_openai_error(post("/v1/chat/completions", "{\"messages\":\"hi\"}"), 400, "messages");
    check_openai_error(post("/v1/chat/completions", "{}"), 400, "messages");
    check_openai_error(post("/v1/chat/completions", "{\"messages\":[]}"), 400, "messages");
    check_openai_error(post("/v1/chat/completions", R"({"messages":[{"role":"wizard","content":"x"}]})"), 400, "messages[0].role");
    check_openai_error(post("/v1/chat/completions", R"({"messages":[{"role":5,"content":"x"}]})"), 400, "messages[0].role");
    check_openai_error(post("/v1/chat/completions", R"({"messages":[{"content":"x"}]})"), 400, "messages[0].role");
    check_openai_error(post("/v1/chat/completions", R"({"messages":["x"]})"), 400, "messages[0]");
    check_openai_error(post("/v1/chat/completions", R"({"messages":[{"role":"user","content":[{"type":"image_url"}]}]})"), 400,
                       "messages[0].content[0].type");
    check_openai_error(post("/v1/chat/completions", chat_body("hi", R"("temperature":"hot")")), 400, "temperature");
    check_openai_error(post("/v1/chat/completions", chat_body("hi", R"("temperature":5)")), 400, "temperature");
    check_openai_error(post("/v1/chat/completions", chat_body("hi", R"("top_p":2)")), 400, "top_p");
    check_openai_error(post("/v1/chat/completions", chat_body("hi", R"("max_tokens":-1)")), 400, "max_tokens");
    check_openai_error(post("/v1/chat/completions", chat_body("hi", R"("max_tokens":1.5)")), 400, "max_tokens");
    check_openai_error(post("/v1/chat/completions", chat_body("hi", R"("n":0)")), 400, "n");
    check_openai_error(post("/v1/chat/completions", chat_body("hi", R"("stop":5)")), 400, "stop");
    check_openai_error(post("/v1/chat/completions", chat_body("hi", R"("stream":"yes")")), 400, "stream");
    check_openai_error(post("/v1/chat/completions", chat_body("hi", R"("top_logprobs":30,"logprobs":true)")), 400, "top_logprobs");
    check_openai_error(post("/v1/chat/completions", chat_body("hi", R"("tools":{})")), 400, "tools");
    check_openai_error(post("/v1/chat/completions", chat_body("hi", R"("tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"always")")), 400,
                       "tool_choice");
    check_openai_error(post("/v1/completions", R"({"prompt":7})"), 400, "prompt");
    check_openai_error(post("/v1/completions", R"({"prompt":[999999]})"), 400, "prompt[0]");
    check_openai_error(post("/v1/completions", R"({"prompt":""})"), 400);
    check_openai_error(post("/tokenize", R"({"text":"x"})"), 400, "content");
    check_openai_error(post("/detokenize", R"({"tokens":[1,-5]})"), 400, "tokens[1]");
    check_openai_error(post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"\xff\xfe\"}]}"), 400);
    check_ollama_error(post("/api/chat", "{nope"), 400);
    check_ollama_error(post("/api/chat", R"({"messages":[{"role":"user","content":"x"}],"options":{"temperature":"warm"}})"), 400);
    check_ollama_error(post("/api/chat", R"({"messages":[{"role":"user","content":"x"}],"options":[]})"), 400);
    check_ollama_error(post("/api/generate", R"({"prompt":5})"), 400);
    check_ollama_error(post("/api/generate", R"({"prompt":"x","options":{"num_predict":"many"}})"), 400);
    check_ollama_error(post("/api/show", R"({})"), 400);
}

TEST_CASE("robustness: unknown models 404, unknown paths 404, a prompt longer than the context 400, big bodies 413") {
    check_openai_error(post("/v1/chat/completions", chat_body("hi", R"("model":"other")")), 404, "model");
    check_ollama_error(post("/api/generate", R"({"model":"other","prompt":"x"})"), 404);
    check_openai_error(server().client().Get("/v1/nothing"), 404);
    check_ollama_error(server().client().Get("/api/nothing"), 404);
    check_openai_error(server().client().Get("/v1/chat/completions"), 404);
    std::string long_text;
    for (int i = 0; i < 300; ++i) long_text += "word ";
    auto r = post("/v1/chat/completions", chat_body(long_text));
    check_openai_error(r, 400);
    CHECK(JsonDoc(r->body).root["error"]["code"].get_string().value() == "context_length_exceeded");
    check_ollama_error(post("/api/generate", "{\"prompt\":\"" + long_text + "\"}"), 400);
    const std::string huge(70000, 'x');
    check_openai_error(post("/v1/chat/completions", chat_body(huge)), 413);
    check_ollama_error(post("/api/chat", chat_body(huge)), 413);
}

TEST_CASE("robustness: clients that disconnect mid-stream free their slot at once") {
    for (int i = 0; i < 6; ++i) {
        const int fd = connect_loopback(server().port());
        const std::string req = raw_request("/v1/completions", kLongCode);
        REQUIRE(send(fd, req.data(), req.size(), 0) == static_cast<ssize_t>(req.size()));
        char buf[512];
        REQUIRE(recv(fd, buf, sizeof buf, 0) > 0);  // headers and the first events have come
        close(fd);
    }
    // Every slot is free again almost at once (a disconnect is seen at the next token).
    int64_t busy = -1;
    for (int tries = 0; tries < 100 && busy != 0; ++tries) {
        busy = metric(server().client().Get("/metrics")->body, "apr_busy_slots");
        if (busy != 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK(busy == 0);
    // An Ollama stream dropped by the client's receiver, too.
    auto c = server().client();
    int chunks = 0;
    auto res = post_streaming(c, "/api/generate", R"({"prompt":"import os\n","raw":true,"options":{"temperature":0,"num_predict":200}})",
                              [&](const char*, size_t) { return ++chunks < 3; });
    CHECK(chunks == 3);
    busy = -1;
    for (int tries = 0; tries < 100 && busy != 0; ++tries) {
        busy = metric(server().client().Get("/metrics")->body, "apr_busy_slots");
        if (busy != 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK(busy == 0);
}

TEST_CASE("robustness: stalled and slow clients do not hold the server") {
    // Clients that send half a request and stall: the read timeout (2 s) drops them.
    std::vector<int> stalled;
    for (int i = 0; i < 4; ++i) {
        const int fd = connect_loopback(server().port());
        const std::string half = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n{\"mess";
        send(fd, half.data(), half.size(), 0);
        stalled.push_back(fd);
    }
    // Meanwhile others are answered.
    const auto start = std::chrono::steady_clock::now();
    auto r = post("/v1/chat/completions", chat_body(kFour));
    REQUIRE(r);
    CHECK(JsonDoc(r->body).root["choices"].at(0)["message"]["content"].get_string().value() == "4");
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
    // The stalled ones are closed by the server after the timeout.
    std::this_thread::sleep_for(std::chrono::milliseconds(2600));
    for (int fd : stalled) {
        char buf[256];
        timeval tv{1, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        const ssize_t n = recv(fd, buf, sizeof buf, 0);
        CHECK(n >= 0);  // 0 (closed) or an error response, never a hang
        close(fd);
    }
    // A slow reader (a few bytes at a time) still gets the whole stream.
    const int fd = connect_loopback(server().port());
    const std::string req = raw_request("/v1/chat/completions", chat_body("Hi", "\"stream\":true"));
    send(fd, req.data(), req.size(), 0);
    std::string got;
    char buf[16];
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    while (got.find("data: [DONE]") == std::string::npos) {
        const ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        got.append(buf, static_cast<size_t>(n));
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    close(fd);
    CHECK(got.find("data: [DONE]") != std::string::npos);
}

TEST_CASE("robustness: past the slots and the queue, 503 with Retry-After") {
    ServeProcess busy({model_path(), "--parallel", "1", "--queue", "0"});
    std::atomic<bool> first_started{false}, release{false};
    std::thread holder([&] {
        auto c = busy.client();
        post_streaming(c, "/v1/completions", kLongCode, [&](const char*, size_t) {
            first_started = true;
            return !release.load();
        });
    });
    while (!first_started) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    auto r = busy.client().Post("/v1/chat/completions", chat_body("Hi"), "application/json");
    check_openai_error(r, 503);
    CHECK(r->get_header_value("Retry-After") == "1");
    auto o = busy.client().Post("/api/chat", chat_body("Hi"), "application/json");
    check_ollama_error(o, 503);
    release = true;
    holder.join();
    // Once the slot is free (the dropped stream is seen at its next token) the same request is served.
    for (int tries = 0; tries < 200 && metric(busy.client().Get("/metrics")->body, "apr_busy_slots") != 0; ++tries)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    auto ok = busy.client().Post("/v1/chat/completions", chat_body(kFour), "application/json");
    REQUIRE(ok);
    CHECK(ok->status == 200);
    CHECK(busy.stop() == 0);
}

TEST_CASE("robustness: --api-key (and APR_API_KEY) guard every endpoint but /health; no CORS unless --cors") {
    ServeProcess keyed({model_path(), "--api-key", "s3cret", "--cors", "http://example.test"});
    auto c = keyed.client();
    check_openai_error(c.Post("/v1/chat/completions", chat_body("Hi"), "application/json"), 401);
    check_openai_error(c.Get("/v1/models"), 401);
    check_openai_error(c.Get("/metrics"), 401);
    check_ollama_error(c.Get("/api/tags"), 401);
    auto health = c.Get("/health");
    REQUIRE(health);
    CHECK(health->status == 200);
    // The chat page and its files need no key (a browser cannot send one when
    // it navigates); the page asks for it and sends it on its API calls.
    for (const char* path : {"/", "/assets/app.js"}) {
        INFO(path);
        auto page = c.Get(path);
        REQUIRE(page);
        CHECK(page->status == 200);
    }
    check_openai_error(c.Get("/assets/../v1/models"), 401);
    httplib::Headers wrong = {{"Authorization", "Bearer nope"}};
    check_openai_error(c.Get("/v1/models", wrong), 401);
    httplib::Headers right = {{"Authorization", "Bearer s3cret"}, {"Origin", "http://example.test"}};
    auto ok = c.Post("/v1/chat/completions", right, chat_body(kFour), "application/json");
    REQUIRE(ok);
    CHECK(ok->status == 200);
    CHECK(ok->get_header_value("Access-Control-Allow-Origin") == "http://example.test");
    auto pre = c.Options("/v1/chat/completions", {{"Origin", "http://example.test"}, {"Access-Control-Request-Method", "POST"}});
    REQUIRE(pre);
    CHECK(pre->status == 204);
    CHECK(pre->get_header_value("Access-Control-Allow-Headers").find("Authorization") != std::string::npos);
    CHECK(keyed.stop() == 0);

    ServeProcess env_keyed({model_path()}, {"APR_API_KEY=k2"});
    check_openai_error(env_keyed.client().Get("/v1/models"), 401);
    auto ok2 = env_keyed.client().Get("/v1/models", {{"Authorization", "Bearer k2"}});
    REQUIRE(ok2);
    CHECK(ok2->status == 200);
    CHECK(env_keyed.stop() == 0);

    // The default server sends no CORS headers at all.
    auto plain = server().client().Get("/v1/models", {{"Origin", "http://example.test"}});
    REQUIRE(plain);
    CHECK(!plain->has_header("Access-Control-Allow-Origin"));
}

TEST_CASE("robustness: afterwards /health answers and a completion is still right; SIGTERM mid-stream exits 0") {
    auto h = server().client().Get("/health");
    REQUIRE(h);
    CHECK(h->status == 200);
    auto r = post("/v1/chat/completions", chat_body(kFour));
    REQUIRE(r);
    CHECK(JsonDoc(r->body).root["choices"].at(0)["message"]["content"].get_string().value() == "4");
    // Stop while a stream is in flight.
    const int fd = connect_loopback(server().port());
    const std::string req = raw_request("/v1/completions", kLongCode);
    send(fd, req.data(), req.size(), 0);
    char buf[256];
    recv(fd, buf, sizeof buf, 0);
    double ms = 0;
    CHECK(server().stop(std::chrono::milliseconds(8000), &ms) == 0);
    CHECK(ms < 5000);
    close(fd);
}
