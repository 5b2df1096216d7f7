// The vendored nano Q4_K_M model (no fixtures needed): the documented
// question gets its answer through the chat template, as `apr run` does it;
// sessions, cancellation, stop strings and errors.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>

#include "apr/chat_template.hpp"
#include "apr/error.hpp"
#include "apr/generate.hpp"
#include "apr/model.hpp"
#include "apr/session.hpp"
#include "apr/tokenizer.hpp"
#include "support/fixtures.hpp"

using namespace apr;

namespace {
const std::filesystem::path kModel = test::vendored_models_dir() / "nano" / "nano-q4_k_m.gguf";

std::string chat_prompt(const Model& model, const std::string& user) {
    return ChatTemplate::from_model_file(model.file()).render({{"user", user, {}}}, true);
}
}  // namespace

TEST_CASE("vendored Q4_K_M model answers 2+2 with 4 through the chat template") {
    auto model = Model::load(kModel);
    Session session(*model);
    GenerateParams params;
    params.max_tokens = 10;
    std::string streamed;
    const GenerateResult r = generate(session, chat_prompt(*model, "What is 2+2? Answer with just the number."),
                                      params, [&](const GeneratedToken& t) {
                                          streamed += t.text;
                                          return true;
                                      });
    CHECK(r.text == "4");
    CHECK(streamed == "4");
    CHECK(r.finish_reason == FinishReason::stop);
    REQUIRE(r.tokens.size() == 2);
    CHECK(r.tokens.back() == 2018);  // <|im_end|> ends the answer and is reported
    CHECK(r.completion_tokens == 2);
}

TEST_CASE("end tokens come from the config and the tokenizer") {
    auto model = Model::load(kModel);
    const auto& ends = model->end_token_ids();
    CHECK(std::find(ends.begin(), ends.end(), 2018) != ends.end());  // <|im_end|>
    CHECK(std::find(ends.begin(), ends.end(), 2016) != ends.end());  // <|endoftext|>
}

TEST_CASE("generation results do not depend on the thread count or the batch size") {
    auto one = Model::load(kModel, ModelParams{Device::cpu, 1});
    auto two = Model::load(kModel, ModelParams{Device::cpu, 2});
    const std::string prompt = chat_prompt(*one, "Write a Python function that reverses a string.");
    GenerateParams params;
    params.max_tokens = 24;
    params.sampling.temperature = 0.8;
    params.sampling.top_k = 20;
    params.sampling.seed = 1234;
    SessionParams small_batches;
    small_batches.batch_size = 7;
    Session s1(*one, small_batches);
    Session s2(*two);
    const GenerateResult a = generate(s1, prompt, params);
    const GenerateResult b = generate(s2, prompt, params);
    CHECK(a.tokens == b.tokens);
    CHECK(a.text == b.text);
}

TEST_CASE("a session continues where it stopped; truncate and reset rewind it") {
    auto model = Model::load(kModel);
    const auto ids = model->tokenizer()->encode(chat_prompt(*model, "What is 7*8?"));
    Session whole(*model);
    const std::vector<float> all = whole.evaluate_all(ids);
    const size_t vocab = static_cast<size_t>(model->config().vocab_size);

    Session split(*model);
    const size_t half = ids.size() / 2;
    split.evaluate(std::span(ids).first(half));
    CHECK(split.position() == static_cast<int64_t>(half));
    const std::span<const float> rest = split.evaluate(std::span(ids).subspan(half));
    const float* want = all.data() + (ids.size() - 1) * vocab;
    double max_diff = 0;
    for (size_t i = 0; i < vocab; ++i) max_diff = std::max(max_diff, double(std::abs(rest[i] - want[i])));
    CHECK(max_diff < 1e-3);  // different batch splits quantize the same rows the same way

    split.truncate(static_cast<int64_t>(half));
    const std::span<const float> again = split.evaluate(std::span(ids).subspan(half));
    CHECK(std::equal(again.begin(), again.end(), rest.begin()));
    split.reset();
    CHECK(split.position() == 0);
    CHECK_THROWS_AS(split.truncate(1), Error);
}

TEST_CASE("evaluate_greedy returns the first maximum of evaluate's logits; greedy generate takes that path") {
    auto model = Model::load(kModel);
    const auto ids = model->tokenizer()->encode(chat_prompt(*model, "Write a haiku about the sea."));
    Session with_logits(*model), greedy(*model);
    std::span<const float> logits = with_logits.evaluate(ids);
    int32_t next = greedy.evaluate_greedy(ids);
    for (int step = 0; step < 12; ++step) {
        const int32_t want = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
        INFO("step " << step << ": evaluate_greedy " << next << ", argmax of the logits " << want);
        REQUIRE(next == want);
        logits = with_logits.evaluate(std::span(&want, 1));
        next = greedy.evaluate_greedy(std::span(&want, 1));
    }
    CHECK(greedy.position() == with_logits.position());

    // generate() decodes greedily through evaluate_greedy unless it needs
    // the logits (log-probs here): both give the same tokens.
    GenerateParams params;
    params.max_tokens = 16;
    Session a(*model), b(*model);
    const GenerateResult fast = generate(a, ids, params);
    params.logprobs = 1;
    const GenerateResult slow = generate(b, ids, params);
    INFO("fast: " << fast.text << " | slow: " << slow.text);
    CHECK(fast.tokens == slow.tokens);
    CHECK(!fast.tokens.empty());
}

TEST_CASE("context overflow is an error that leaves the session unchanged") {
    auto model = Model::load(kModel);
    SessionParams sp;
    sp.context_length = 8;
    Session session(*model, sp);
    const std::vector<int32_t> five = {1, 2, 3, 4, 5};
    session.evaluate(five);
    try {
        session.evaluate(five);
        FAIL("no overflow reported");
    } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::context_overflow);
    }
    CHECK(session.position() == 5);
    // Generation that fills the context stops with "length".
    session.reset();
    GenerateParams params;
    params.max_tokens = 100;
    params.stop_token_ids = {-1};  // never stop on a token
    const GenerateResult r = generate(session, five, params);
    CHECK(r.finish_reason == FinishReason::length);
    CHECK(r.completion_tokens == 4);  // positions 5, 6, 7 evaluated; the 4th token needs none
}

TEST_CASE("bad token ids and parameters are errors") {
    auto model = Model::load(kModel);
    Session session(*model);
    const std::vector<int32_t> bad = {1, 999999};
    try {
        session.evaluate(bad);
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::invalid_argument);
        CHECK(std::string(e.what()).find("999999") != std::string::npos);
    }
    GenerateParams params;
    params.sampling.top_p = 0;
    CHECK_THROWS_AS(generate(session, std::vector<int32_t>{1}, params), Error);
    SessionParams sp;
    sp.batch_size = 0;
    CHECK_THROWS_AS(Session(*model, sp), Error);
}

TEST_CASE("generation can be cancelled by the callback or a flag") {
    auto model = Model::load(kModel);
    Session session(*model);
    const std::vector<int32_t> prompt = model->tokenizer()->encode("def fibonacci(n):");
    GenerateParams params;
    params.max_tokens = 20;
    int calls = 0;
    GenerateResult r = generate(session, prompt, params, [&](const GeneratedToken&) { return ++calls < 3; });
    CHECK(r.finish_reason == FinishReason::cancelled);
    CHECK(r.tokens.size() == 3);

    std::atomic<bool> cancel{true};
    params.cancel = &cancel;
    session.reset();
    r = generate(session, prompt, params);
    CHECK(r.finish_reason == FinishReason::cancelled);
    CHECK(r.tokens.empty());
}

TEST_CASE("stop strings end generation and are cut from the text") {
    auto model = Model::load(kModel);
    Session session(*model);
    GenerateParams params;
    params.max_tokens = 32;
    const std::string prompt = chat_prompt(*model, "Write a Python function that reverses a string.");
    const GenerateResult full = generate(session, prompt, params);
    REQUIRE(full.text.find("return") != std::string::npos);
    session.reset();
    params.stop_strings = {"return"};
    std::string streamed;
    const GenerateResult cut = generate(session, prompt, params, [&](const GeneratedToken& t) {
        streamed += t.text;
        return true;
    });
    CHECK(cut.finish_reason == FinishReason::stop);
    CHECK(cut.text == full.text.substr(0, full.text.find("return")));
    CHECK(streamed == cut.text);
}

TEST_CASE("evaluate_batch decodes several sessions in one pass, each as if alone") {
    auto model = Model::load(kModel);
    const size_t vocab = static_cast<size_t>(model->config().vocab_size);
    const auto a_ids = model->tokenizer()->encode(chat_prompt(*model, "What is 7*8?"));
    const auto b_ids = model->tokenizer()->encode("def fibonacci(n):");
    const int32_t a_next = 20, b_next = 198;
    // Reference: each session alone.
    Session a1(*model), b1(*model);
    a1.evaluate(a_ids);
    b1.evaluate(b_ids);
    const std::span<const float> a_alone = a1.evaluate(std::span(&a_next, 1));
    const std::vector<float> a_want(a_alone.begin(), a_alone.end());
    const std::span<const float> b_alone = b1.evaluate(std::span(&b_next, 1));
    const std::vector<float> b_want(b_alone.begin(), b_alone.end());
    // Batched: different positions, different caches, one forward pass.
    Session a2(*model), b2(*model);
    a2.evaluate(a_ids);
    b2.evaluate(b_ids);
    Session* both[] = {&a2, &b2};
    const int32_t next[] = {a_next, b_next};
    const std::vector<float> got = evaluate_batch(both, next);
    REQUIRE(got.size() == 2 * vocab);
    CHECK(std::equal(a_want.begin(), a_want.end(), got.begin()));
    CHECK(std::equal(b_want.begin(), b_want.end(), got.begin() + static_cast<std::ptrdiff_t>(vocab)));
    CHECK(a2.position() == a1.position());
    CHECK(b2.position() == b1.position());
    // A session twice, or a mismatch of counts, is refused without changes.
    Session* twice[] = {&a2, &a2};
    CHECK_THROWS_AS(evaluate_batch(twice, next), Error);
    CHECK_THROWS_AS(evaluate_batch(both, std::span(next, 1)), Error);
    CHECK(a2.position() == a1.position());
}

TEST_CASE("copy_prefix_from: a session given another's first positions computes what evaluating them gives, bit for bit") {
    auto model = Model::load(kModel);
    std::vector<int32_t> ids(300);
    for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int32_t>((i * 7919 + 13) % 2000);
    for (const KVCacheType type : {KVCacheType::f16, KVCacheType::f32, KVCacheType::q8_0}) {
        INFO("kv type " << kv_cache_type_name(type));
        SessionParams params;
        params.kv_cache_type = type;
        Session donor(*model, params), fresh(*model, params), copy(*model, params);
        donor.evaluate(ids);  // 300 positions: one whole block and a partial one
        for (const int64_t length : {int64_t{290}, int64_t{256}, int64_t{40}}) {
            INFO("prefix " << length);
            const std::span<const int32_t> rest(ids.data() + length, ids.size() - static_cast<size_t>(length));
            fresh.reset();
            fresh.evaluate(std::span<const int32_t>(ids.data(), static_cast<size_t>(length)));
            const auto w = fresh.evaluate(rest);
            const std::vector<float> expected(w.begin(), w.end());
            copy.evaluate(std::span<const int32_t>(ids.data(), 5));  // something else held before is dropped
            REQUIRE(copy.copy_prefix_from(donor, length));
            CHECK(copy.position() == length);
            const auto got = copy.evaluate(rest);
            int64_t differ = 0;
            for (size_t i = 0; i < expected.size(); ++i) differ += got[i] != expected[i];
            CHECK(differ == 0);
            copy.reset();
        }
        CHECK_THROWS_AS(copy.copy_prefix_from(donor, 301), Error);
    }
}
