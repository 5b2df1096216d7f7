// `apr serve --device cuda` on the vendored nano model: /health reports the
// GPU, and greedy answers come out the same whether requests run alone or
// together in one batch (continuous batching on the GPU). main() is
// gpu_main.cpp's: without an NVIDIA GPU the program skips loudly.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "serve/serve_process.hpp"
#include "support/fixtures.hpp"

using apr::test::chat_body;
using apr::test::JsonDoc;
using apr::test::ServeProcess;

namespace {

ServeProcess& server() {
    static std::unique_ptr<ServeProcess> s;
    if (!s) {
        const std::string model = (apr::test::vendored_models_dir() / "nano" / "nano-q4_k_m.gguf").string();
        s = std::make_unique<ServeProcess>(
            std::vector<std::string>{model, "--device", "cuda", "--parallel", "4", "--alias", "nano"});
    }
    return *s;
}

std::string answer(const std::string& question) {
    auto r = server().client().Post("/v1/chat/completions", chat_body(question, "\"max_tokens\":16"), "application/json");
    // No Catch2 macro here: the batched case calls this from several threads
    // and Catch2's INFO/CHECK are not thread-safe (seen: a double free in the
    // test process on the H200), so failures are returned as the answer.
    if (!r) return "(no response)";
    if (r->status != 200) return "(status " + std::to_string(r->status) + ": " + r->body + ")";
    JsonDoc d(r->body);
    return std::string(std::string_view(d.root["choices"].at(0)["message"]["content"]));
}

}  // namespace

TEST_CASE("serve --device cuda: /health says compute_mode gpu") {
    auto h = server().client().Get("/health");
    REQUIRE(h);
    INFO(h->body << "\nserver log:\n" << server().log());
    JsonDoc health(h->body);
    CHECK(std::string_view(health.root["compute_mode"]) == "gpu");
    CHECK(int64_t(health.root["slots"]) == 4);
}

TEST_CASE("serve --device cuda: requests batched together get the answers they get alone") {
    const std::vector<std::string> questions = {"What is 2+2? Answer with just the number.", "What is 7*8?", "Hi",
                                                "What is 2+2? Answer with just the number."};
    std::vector<std::string> alone;
    for (const std::string& q : questions) alone.push_back(answer(q));
    INFO("server log:\n" << server().log());
    CHECK(alone[0] == "4");
    CHECK(alone[1] == "56");
    std::vector<std::string> together(questions.size());
    std::vector<std::thread> threads;
    for (size_t i = 0; i < questions.size(); ++i) threads.emplace_back([&, i] { together[i] = answer(questions[i]); });
    for (auto& t : threads) t.join();
    for (size_t i = 0; i < questions.size(); ++i) {
        INFO("question " << i << ": " << questions[i]);
        CHECK(together[i] == alone[i]);
    }
}
