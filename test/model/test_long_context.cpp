// Long context on the paged KV cache, with a tiny random Qwen2 model made by
// the project's own tool code (tools/: 1 layer, hidden 64, 2 heads sharing
// one KV head, vocab 512) whose file says it was trained for 32,768
// positions: a 30,000-token prompt, chunked against unchunked prefill,
// memory that follows the positions held, prompts that do not fit, the end
// of the context during generation, and the cache types.
#include <catch2/catch.hpp>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <unistd.h>
#include <string>
#include <vector>

#include "apr/batch.hpp"
#include "apr/error.hpp"
#include "apr/generate.hpp"
#include "apr/model.hpp"
#include "apr/session.hpp"
#include "formats/temp_dir.hpp"
#include "support/prerequisites.hpp"
#include "model/kv_layout.hpp"
#include "tools/random_model_metadata.hpp"
#include "tools/random_model_plan.hpp"
#include "tools/random_model_writer.hpp"

using namespace apr;

namespace {

constexpr int64_t kContext = 32768;

// The tiny model, written once per test program.
const std::filesystem::path& tiny_model() {
    static test::TempDir dir;
    static const std::filesystem::path path = [] {
        tools::Qwen2Shape shape = tools::tiny_shape(kContext);
        shape.layers = 1;
        const auto plan = tools::plan_random_model(shape, tools::RandomModelType::f16);
        const auto p = dir.path() / "tiny-32k-f16.gguf";
        tools::write_random_model(p, tools::tokenizerless_model_metadata(shape, tools::RandomModelType::f16, 7), plan, 7);
        return p;
    }();
    return path;
}

std::vector<int32_t> ids(int64_t n, uint64_t seed = 1) {
    std::vector<int32_t> out(static_cast<size_t>(n));
    for (auto& id : out) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        id = static_cast<int32_t>((seed >> 33) % 512);
    }
    return out;
}

int64_t rss_bytes() {
    std::ifstream in("/proc/self/statm");
    int64_t size = 0, resident = 0;
    in >> size >> resident;
    return resident * static_cast<int64_t>(sysconf(_SC_PAGESIZE));
}

std::string error_of(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const Error& e) {
        return e.what();
    }
    return "no error";
}

}  // namespace

TEST_CASE("the tiny model's default session has its trained 32,768 positions and an f32 cache (f16 weights)") {
    auto model = Model::load(tiny_model());
    CHECK(model->config().context_length == kContext);
    Session session(*model);
    CHECK(session.context_length() == kContext);
    CHECK(session.kv_cache_type() == KVCacheType::f32);
    CHECK(session.kv_cache_bytes() == 0);  // nothing held before the first token
    // Asking for more than the trained context names both numbers.
    SessionParams too_long;
    too_long.context_length = kContext + 1;
    const std::string message = error_of([&] { Session s(*model, too_long); });
    CHECK(message.find("32769") != std::string::npos);
    CHECK(message.find("32768") != std::string::npos);
}

TEST_CASE("a 30,000-token prompt evaluates, and resident memory follows the positions held") {
    auto model = Model::load(tiny_model());
    Session session(*model);
    const int64_t n = 30000;
    const model::KVLayout layout{1, 1, 32, KVCacheType::f32};
    const int64_t blocks = (n + model::kKVBlockPositions - 1) / model::kKVBlockPositions;
    // A first short prompt, then reset: the forward pass's buffers for a full
    // prompt chunk and the thread pool's workers are resident before the
    // baseline, so what follows measures the cache (with them counted, a
    // busy machine's late worker start once grew RSS by 1 MB after the reset).
    session.evaluate(ids(2 * model::kKVBlockPositions + 600));
    session.reset();
    const int64_t before = rss_bytes();
    session.evaluate(ids(n));
    // Then one more token (position 30,000) through the decode path.
    const auto last = session.evaluate(ids(1, 9));
    const std::vector<float> logits(last.begin(), last.end());
    CHECK(session.position() == n + 1);
    for (float x : logits) REQUIRE(std::isfinite(x));
    const int64_t held = session.kv_cache_bytes();
    CHECK(held == ((n + 1 + 255) / 256) * static_cast<int64_t>(layout.block_bytes()));
    CHECK(held >= blocks * 256 * static_cast<int64_t>(layout.position_bytes()));
    const int64_t grown = rss_bytes() - before;
    INFO("cache holds " << held << " bytes; RSS grew by " << grown);
    CHECK(grown >= held * 9 / 10);  // measured: the blocks are resident

    session.truncate(1000);
    CHECK(session.kv_cache_bytes() == 4 * static_cast<int64_t>(layout.block_bytes()));
    const int64_t after_truncate = rss_bytes();
    INFO("RSS after truncate to 1000 positions: " << after_truncate);
    CHECK(before + grown - after_truncate >= (held - session.kv_cache_bytes()) * 9 / 10);
    session.reset();
    CHECK(session.kv_cache_bytes() == 0);
    CHECK(rss_bytes() - before < held / 10);
}

TEST_CASE("chunked and unchunked prefill agree bit for bit, whatever the thread count") {
    const std::vector<int32_t> prompt = ids(2000, 3);  // 8 blocks of positions
    auto logits_of = [&](int64_t batch, int threads) {
        ModelParams mp;
        mp.threads = threads;
        auto model = Model::load(tiny_model(), mp);
        SessionParams sp;
        sp.batch_size = batch;
        Session session(*model, sp);
        return session.evaluate_all(prompt);
    };
    const std::vector<float> whole = logits_of(2000, 2);
    CHECK(logits_of(256, 2) == whole);
    CHECK(logits_of(37, 1) == whole);
    CHECK(logits_of(2000, 3) == whole);
    // One token at a time: the decode path splits each row's attention over
    // the cache blocks (flash-decoding) and folds the partials in block order.
    CHECK(logits_of(1, 2) == whole);
}

TEST_CASE("a prompt one token too long fails cleanly and the session stays usable") {
    auto model = Model::load(tiny_model());
    Session session(*model);
    GenerateParams gp;
    gp.max_tokens = 2;
    const std::vector<int32_t> too_long = ids(kContext + 1);
    const std::string message = error_of([&] { generate(session, too_long, gp); });
    INFO(message);
    CHECK(message.find("32769") != std::string::npos);
    CHECK(message.find("32768") != std::string::npos);
    CHECK(session.position() == 0);
    CHECK(session.kv_cache_bytes() == 0);
    const GenerateResult r = generate(session, ids(10), gp);
    CHECK(r.completion_tokens == 2);
    CHECK(session.position() == 11);

    // Evaluating past the end leaves what the session holds untouched.
    SessionParams sp;
    sp.context_length = 300;
    Session small(*model, sp);
    small.evaluate(ids(100));
    const int64_t bytes = small.kv_cache_bytes();
    try {
        small.evaluate(ids(201));
        FAIL("no context overflow");
    } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::context_overflow);
        CHECK(std::string(e.what()).find("300") != std::string::npos);
    }
    CHECK(small.position() == 100);
    CHECK(small.kv_cache_bytes() == bytes);
    small.evaluate(ids(200));
    CHECK(small.position() == 300);
}

TEST_CASE("BatchEvaluator takes cache blocks as its sessions fill and gives them back when a batch fails") {
    auto model = Model::load(tiny_model());
    const model::KVLayout layout{1, 1, 32, KVCacheType::f32};
    const auto block = static_cast<int64_t>(layout.block_bytes());
    // Three sessions: 300, 40 and 600 prompt tokens (the first and last cross block boundaries).
    const std::vector<std::vector<int32_t>> prompts = {ids(300, 11), ids(40, 12), ids(600, 13)};
    std::vector<std::unique_ptr<Session>> sessions;
    for (size_t i = 0; i < prompts.size(); ++i) sessions.push_back(std::make_unique<Session>(*model));
    BatchEvaluator evaluator(*model, 1024);
    std::vector<BatchItem> items;
    for (size_t i = 0; i < prompts.size(); ++i) items.push_back({sessions[i].get(), prompts[i], true});
    const auto batched = evaluator.evaluate(items);
    const std::vector<float> rows(batched.begin(), batched.end());
    CHECK(sessions[0]->kv_cache_bytes() == 2 * block);
    CHECK(sessions[1]->kv_cache_bytes() == 1 * block);
    CHECK(sessions[2]->kv_cache_bytes() == 3 * block);
    const auto vocab = static_cast<size_t>(model->config().vocab_size);
    for (size_t i = 0; i < prompts.size(); ++i) {
        Session alone(*model);
        const auto own = alone.evaluate(prompts[i]);
        double worst = 0;
        for (size_t j = 0; j < vocab; ++j) worst = std::max(worst, double(std::fabs(own[j] - rows[i * vocab + j])));
        INFO("session " << i << ": largest logit difference batched vs alone " << worst);
        CHECK(worst < 1e-3);
    }
    // A batch one session cannot take (past its context) changes nobody.
    SessionParams sp;
    sp.context_length = 300;
    Session small(*model, sp);
    small.evaluate(ids(200));
    const std::vector<int32_t> more = ids(200, 14), one = ids(1, 15);
    const std::vector<BatchItem> bad = {{sessions[1].get(), more, true}, {&small, more, true}};
    CHECK_THROWS_AS(evaluator.evaluate(bad), Error);
    CHECK(sessions[1]->position() == 40);
    CHECK(sessions[1]->kv_cache_bytes() == block);
    CHECK(small.position() == 200);
    const std::vector<BatchItem> good = {{sessions[1].get(), one, true}, {&small, one, true}};
    evaluator.evaluate(good);
    CHECK(sessions[1]->position() == 41);
    CHECK(small.position() == 201);
}

TEST_CASE("BatchEvaluator::evaluate_greedy gives each row's argmax of what evaluate returns, sessions advancing alike") {
    auto model = Model::load(tiny_model());
    const auto vocab = static_cast<size_t>(model->config().vocab_size);
    // Twin sessions: one set through evaluate (logits), one through evaluate_greedy (ids).
    const std::vector<std::vector<int32_t>> prompts = {ids(30, 21), ids(7, 22), ids(65, 23)};
    std::vector<std::unique_ptr<Session>> a, b;
    for (size_t i = 0; i < prompts.size(); ++i) {
        a.push_back(std::make_unique<Session>(*model));
        b.push_back(std::make_unique<Session>(*model));
    }
    BatchEvaluator evaluator(*model, 256);
    std::vector<BatchItem> ia, ib;
    for (size_t i = 0; i < prompts.size(); ++i) {
        ia.push_back({a[i].get(), prompts[i], true});
        ib.push_back({b[i].get(), prompts[i], i != 1});  // the second wants no logits: no id either
    }
    std::vector<int32_t> one(prompts.size());  // each session's next token
    for (int step = 0; step < 4; ++step) {
        const auto logits = evaluator.evaluate(ia);
        const std::vector<float> rows(logits.begin(), logits.end());
        const auto got = evaluator.evaluate_greedy(ib);
        REQUIRE(got.size() == (step == 0 ? 2u : 3u));
        std::vector<int32_t> next(prompts.size());
        for (size_t i = 0; i < prompts.size(); ++i) {
            const auto row = rows.begin() + static_cast<std::ptrdiff_t>(i * vocab);
            next[i] = static_cast<int32_t>(std::max_element(row, row + static_cast<std::ptrdiff_t>(vocab)) - row);
        }
        INFO("step " << step);
        if (step == 0) {
            CHECK(got[0] == next[0]);
            CHECK(got[1] == next[2]);
        } else {
            for (size_t i = 0; i < prompts.size(); ++i) CHECK(got[i] == next[i]);
        }
        for (size_t i = 0; i < prompts.size(); ++i) CHECK(a[i]->position() == b[i]->position());
        one = next;
        for (size_t i = 0; i < prompts.size(); ++i) {
            ia[i] = {a[i].get(), std::span<const int32_t>(&one[i], 1), true};
            ib[i] = {b[i].get(), std::span<const int32_t>(&one[i], 1), true};
        }
    }
}

TEST_CASE("generation that reaches the end of the context stops with finish reason length and says so") {
    auto model = Model::load(tiny_model());
    SessionParams sp;
    sp.context_length = 64;
    Session session(*model, sp);
    GenerateParams gp;
    gp.max_tokens = 100;
    gp.stop_token_ids = {-1};  // the tiny model has no end token; never stop early
    const GenerateResult r = generate(session, ids(60), gp);
    CHECK(r.finish_reason == FinishReason::length);
    CHECK(r.context_full);
    CHECK(r.completion_tokens == 5);  // 4 appended (positions 60..63), the 5th has no room
    CHECK(session.position() == 64);
    gp.max_tokens = 3;
    session.reset();
    const GenerateResult short_run = generate(session, ids(10), gp);
    CHECK(short_run.finish_reason == FinishReason::length);
    CHECK_FALSE(short_run.context_full);
}

TEST_CASE("f16 and q8_0 caches: smaller blocks, logits close to the f32 cache's") {
    auto model = Model::load(tiny_model());
    const std::vector<int32_t> prompt = ids(700, 5);
    auto run = [&](KVCacheType type, int64_t* bytes) {
        SessionParams sp;
        sp.kv_cache_type = type;
        Session session(*model, sp);
        CHECK(session.kv_cache_type() == type);
        const auto logits = session.evaluate(prompt);
        *bytes = session.kv_cache_bytes();
        return std::vector<float>(logits.begin(), logits.end());
    };
    int64_t b32 = 0, b16 = 0, b8 = 0;
    const auto l32 = run(KVCacheType::f32, &b32);
    const auto l16 = run(KVCacheType::f16, &b16);
    const auto l8 = run(KVCacheType::q8_0, &b8);
    CHECK(b16 * 2 == b32);
    CHECK(b8 * 32 == b16 / 2 * 34);  // 34 bytes per 32 values
    float spread = 0, d16 = 0, d8 = 0;
    for (size_t i = 0; i < l32.size(); ++i) {
        spread = std::max(spread, std::abs(l32[i] - l32[0]));
        d16 = std::max(d16, std::abs(l16[i] - l32[i]));
        d8 = std::max(d8, std::abs(l8[i] - l32[i]));
    }
    INFO("logit spread " << spread << ", max |f16 - f32| " << d16 << ", max |q8_0 - f32| " << d8);
    CHECK(d16 <= spread * 0.01f);
    CHECK(d8 <= spread * 0.05f);
    CHECK(d16 > 0);  // really another cache type
}

TEST_CASE("apr bench measures prompt and generation speed at a depth, and refuses a depth past the context") {
    APR_REQUIRE_CLI(cli);
    auto run = [&](const std::string& args, int* status) {
        FILE* pipe = popen((cli.string() + " bench " + tiny_model().string() + " " + args + " 2>&1").c_str(), "r");
        REQUIRE(pipe != nullptr);
        std::string out;
        std::array<char, 4096> buf;
        size_t n;
        while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
        *status = pclose(pipe);
        return out;
    };
    int status = -1;
    const std::string out = run("--prompt-tokens 16 --gen-tokens 4 --depth 0,300 --threads 2 --kv-type q8_0 --device cpu", &status);
    INFO(out);
    CHECK(status == 0);
    CHECK(out.find("kv cache q8_0") != std::string::npos);
    CHECK(out.find("| pp16 @ d0") != std::string::npos);
    CHECK(out.find("| tg4 @ d300") != std::string::npos);
    const std::string refused = run("--prompt-tokens 16 --gen-tokens 4 --depth 300 --ctx-size 310", &status);
    INFO(refused);
    CHECK(WEXITSTATUS(status) == 2);
    CHECK(refused.find("316") != std::string::npos);
    CHECK(refused.find("310") != std::string::npos);
    const std::string bad_type = run("--kv-type q4", &status);
    CHECK(WEXITSTATUS(status) == 2);
    CHECK(bad_type.find("--kv-type") != std::string::npos);
}
