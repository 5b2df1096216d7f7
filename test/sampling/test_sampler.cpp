// Sampling: the generator's exact sequence, greedy, each filter, penalties,
// the empirical distribution of a seeded draw, and log-probabilities.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>

#include "apr/error.hpp"
#include "apr/sampling.hpp"

using namespace apr;

TEST_CASE("Rng is xoshiro256** seeded by splitmix64 (values from an independent implementation)") {
    Rng zero(0);
    CHECK(zero.next() == 0x99ec5f36cb75f2b4ull);
    CHECK(zero.next() == 0xbf6e1f784956452aull);
    CHECK(zero.next() == 0x1a5f849d4933e6e0ull);
    Rng answer(42);
    CHECK(answer.next() == 0x15780b2e0c2ec716ull);
    Rng u(7);
    for (int i = 0; i < 1000; ++i) {
        const double x = u.uniform();
        REQUIRE(x >= 0.0);
        REQUIRE(x < 1.0);
    }
}

TEST_CASE("greedy picks the first maximum") {
    Sampler s(SamplingParams{});
    const std::vector<float> logits = {0.5f, 3.0f, -1.0f, 3.0f};
    CHECK(s.sample(logits) == 1);
}

TEST_CASE("repeat, presence and frequency penalties change the greedy choice") {
    const std::vector<float> logits = {2.0f, 1.9f, -1.0f, -1.2f};
    SamplingParams p;
    p.repeat_penalty = 1.1;  // 2.0 / 1.1 = 1.818 < 1.9
    Sampler rep(p);
    rep.accept(0);
    CHECK(rep.sample(logits) == 1);

    SamplingParams q;
    q.presence_penalty = 0.05;
    q.frequency_penalty = 0.03;  // token 0 seen twice: 2.0 - 0.05 - 0.06 = 1.89 < 1.9
    Sampler pen(q);
    pen.accept(0);
    pen.accept(0);
    CHECK(pen.sample(logits) == 1);
    Sampler once(q);
    once.accept(0);  // 2.0 - 0.05 - 0.03 = 1.92 > 1.9
    CHECK(once.sample(logits) == 0);

    // negative logits are multiplied: -1.0 * 1.5 = -1.5 < -1.2
    SamplingParams r;
    r.repeat_penalty = 1.5;
    Sampler neg(r);
    neg.accept(0);
    neg.accept(1);
    neg.accept(2);
    const std::vector<float> low = {-5.0f, -5.0f, -1.0f, -1.2f};
    CHECK(neg.sample(low) == 3);

    // penalty_last_n forgets old tokens
    r.penalty_last_n = 1;
    Sampler window(r);
    window.accept(2);
    window.accept(0);
    CHECK(window.sample(low) == 2);
}

namespace {
std::map<int32_t, int> histogram(SamplingParams p, const std::vector<float>& logits, int draws) {
    Sampler s(p);
    std::map<int32_t, int> counts;
    for (int i = 0; i < draws; ++i) ++counts[s.sample(logits)];
    return counts;
}
}  // namespace

TEST_CASE("a seeded draw follows softmax(logits / temperature)") {
    const std::vector<float> logits = {1.0f, 2.0f, 0.0f, 1.5f};
    SamplingParams p;
    p.temperature = 0.7;
    p.seed = 99;
    const int draws = 40000;
    const auto counts = histogram(p, logits, draws);
    double z = 0;
    for (float l : logits) z += std::exp(l / 0.7);
    for (int32_t id = 0; id < 4; ++id) {
        const double expected = std::exp(logits[id] / 0.7) / z;
        const double got = counts.count(id) ? counts.at(id) / double(draws) : 0.0;
        INFO("token " << id);
        CHECK(std::abs(got - expected) < 0.01);
    }
    // same seed, same sequence
    CHECK(histogram(p, logits, 500) == histogram(p, logits, 500));
}

TEST_CASE("top-k, top-p and min-p restrict the candidates") {
    const std::vector<float> logits = {3.0f, 2.0f, 1.0f, 0.0f, -1.0f};
    // probabilities: 0.636, 0.234, 0.086, 0.032, 0.012
    SamplingParams p;
    p.temperature = 1.0;
    p.seed = 5;
    p.top_k = 2;
    auto c = histogram(p, logits, 3000);
    CHECK(c.size() == 2);
    CHECK(c.count(0) == 1);
    CHECK(c.count(1) == 1);

    p.top_k = 0;
    p.top_p = 0.8;  // 0.636 + 0.234 >= 0.8
    c = histogram(p, logits, 3000);
    CHECK(c.size() == 2);

    p.top_p = 1.0;
    p.min_p = 0.1;  // keeps p >= 0.0636: tokens 0, 1, 2
    c = histogram(p, logits, 3000);
    CHECK(c.size() == 3);
    CHECK(c.count(3) == 0);
}

TEST_CASE("log-probabilities are the natural-log softmax, best first") {
    const std::vector<float> logits = {1.0f, 3.0f, 2.0f, 3.0f};
    const double lse = std::log(std::exp(1.0) + 2 * std::exp(3.0) + std::exp(2.0));
    const auto top = top_logprobs(logits, 3);
    REQUIRE(top.size() == 3);
    CHECK(top[0].id == 1);  // ties: lower id first
    CHECK(top[1].id == 3);
    CHECK(top[2].id == 2);
    CHECK(top[0].logprob == Approx(3.0 - lse).margin(1e-6));
    CHECK(top[2].logprob == Approx(2.0 - lse).margin(1e-6));
    CHECK(logprob_of(logits, 0) == Approx(1.0 - lse).margin(1e-6));
    CHECK(top_logprobs(logits, 10).size() == 4);
    CHECK_THROWS_AS(logprob_of(logits, 4), Error);
}

TEST_CASE("out-of-range sampling parameters are rejected by name") {
    auto rejects = [](SamplingParams p, const char* name) {
        try {
            validate(p);
            return false;
        } catch (const Error& e) {
            return e.code() == ErrorCode::invalid_argument && std::string(e.what()).find(name) != std::string::npos;
        }
    };
    SamplingParams p;
    p.temperature = -1;
    CHECK(rejects(p, "temperature"));
    p = {};
    p.top_p = 1.5;
    CHECK(rejects(p, "top_p"));
    p = {};
    p.min_p = -0.1;
    CHECK(rejects(p, "min_p"));
    p = {};
    p.repeat_penalty = 0;
    CHECK(rejects(p, "repeat_penalty"));
    p = {};
    p.top_k = -3;
    CHECK(rejects(p, "top_k"));
    p = {};
    p.temperature = NAN;
    CHECK(rejects(p, "temperature"));
    CHECK_NOTHROW(validate(SamplingParams{}));
}

TEST_CASE("NaN logits and extreme penalties never break sampling") {
    const std::vector<float> logits = {1.0f, NAN, 3.0f, -INFINITY, NAN, 2.0f};
    SamplingParams p;
    p.temperature = 1.0;
    p.seed = 3;
    Sampler s(p);
    for (int i = 0; i < 200; ++i) {
        const int32_t id = s.sample(logits);
        REQUIRE(id >= 0);
        REQUIRE(id < 6);
    }
    const auto top = top_logprobs(logits, 3);
    REQUIRE(top.size() == 3);
    CHECK(top[0].id == 2);
    CHECK(top[1].id == 5);
    CHECK(top[2].id == 0);
    // inf - inf inside the penalties
    SamplingParams q;
    q.temperature = 0.5;
    q.repeat_penalty = 1e-38;
    q.frequency_penalty = 3e38;
    Sampler extreme(q);
    extreme.accept(2);
    extreme.accept(2);
    const int32_t id = extreme.sample(logits);
    CHECK(id >= 0);
    CHECK(id < 6);
}
