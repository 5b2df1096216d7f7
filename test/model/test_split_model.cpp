// A model split into two stages (ModelParams::gpu_layers: the first layers
// on the CPU, the rest and the LM head on the GPU). The split itself (per
// stage weights, buffers and KV caches, the hidden state handed over between
// backends) does not depend on the GPU, so here it runs between two CPU
// backends, which must give the unsplit model's results; test_cuda_model
// checks the CPU + GPU split on a machine with a GPU.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "apr/error.hpp"
#include "apr/generate.hpp"
#include "apr/model.hpp"
#include "apr/model_file.hpp"
#include "apr/session.hpp"
#include "apr/tokenizer.hpp"
#include "model/cpu_backend.hpp"
#include "model/model_impl.hpp"
#include "support/fixtures.hpp"

using namespace apr;

namespace {
const std::filesystem::path kModel = test::vendored_models_dir() / "nano" / "nano-q4_k_m.gguf";

std::unique_ptr<Model> split_model(int64_t split) {
    return model::ModelAssembly::assemble(open_model_file(kModel), ModelParams{Device::cpu, 1, -1}, Device::cpu,
                                          model::make_cpu_backend(1), model::make_cpu_backend(1), split);
}

double max_diff(std::span<const float> a, std::span<const float> b) {
    double d = 0;
    for (size_t i = 0; i < a.size(); ++i) d = std::max(d, static_cast<double>(std::abs(a[i] - b[i])));
    return d;
}

struct CountingObserver : Observer {
    int ops = 0, layers = 0;
    void on_op(const OpEvent& e) override {
        ++ops;
        if (e.output == nullptr) ++missing_outputs;
    }
    void on_layer(const LayerEvent&) override { ++layers; }
    int missing_outputs = 0;
};
}  // namespace

TEST_CASE("a model split between two backends gives the unsplit model's logits and greedy tokens") {
    auto whole = Model::load(kModel, ModelParams{Device::cpu, 1, -1});
    const int64_t layers = whole->config().num_layers;
    const auto ids = whole->tokenizer()->encode("The quick brown fox jumps over the lazy dog because");
    Session ws(*whole);
    const std::span<const float> want_span = ws.evaluate(ids);
    const std::vector<float> want(want_span.begin(), want_span.end());
    ws.reset();
    GenerateParams gp;
    gp.max_tokens = 12;
    const GenerateResult want_gen = generate(ws, ids, gp);

    for (int64_t split : {int64_t{1}, layers / 2, layers - 1}) {
        INFO("layers 0.." << split - 1 << " on the first backend, " << split << ".." << layers - 1 << " on the second");
        auto m = split_model(split);
        REQUIRE(m->impl().weights.stages.size() == 2);
        CHECK(m->backend_description().find("layers 0-" + std::to_string(split - 1)) != std::string::npos);
        Session s(*m);
        const std::span<const float> got = s.evaluate(ids);
        const double diff = max_diff(got, want);
        INFO("max |logit difference| " << diff);
        CHECK(diff < 1e-4);
        s.reset();
        const GenerateResult gen = generate(s, ids, gp);
        INFO("split: '" << gen.text << "', whole: '" << want_gen.text << "'");
        CHECK(gen.tokens == want_gen.tokens);
    }
}

TEST_CASE("a split model decodes several sessions in one batch and shows every op to an observer") {
    auto whole = Model::load(kModel, ModelParams{Device::cpu, 1, -1});
    auto m = split_model(whole->config().num_layers / 2);
    const auto a_ids = m->tokenizer()->encode("Once upon a time");
    const auto b_ids = m->tokenizer()->encode("def reverse(s):");
    Session a(*m), b(*m), a_alone(*whole), b_alone(*whole);
    a.evaluate(a_ids);
    b.evaluate(b_ids);
    a_alone.evaluate(a_ids);
    b_alone.evaluate(b_ids);
    std::vector<Session*> both{&a, &b};
    const std::vector<int32_t> next{11, 22};
    const std::vector<float> got = evaluate_batch(both, next);
    const size_t vocab = static_cast<size_t>(m->config().vocab_size);
    const std::span<const float> a_want = a_alone.evaluate(std::span(&next[0], 1));
    CHECK(max_diff(std::span(got).first(vocab), a_want) < 1e-4);
    const std::span<const float> b_want = b_alone.evaluate(std::span(&next[1], 1));
    CHECK(max_diff(std::span(got).subspan(vocab, vocab), b_want) < 1e-4);

    CountingObserver split_seen, whole_seen;
    a.set_observer(&split_seen);
    a_alone.set_observer(&whole_seen);
    const int32_t t = 33;
    const std::span<const float> traced = a.evaluate(std::span(&t, 1));
    const std::vector<float> traced_copy(traced.begin(), traced.end());
    const std::span<const float> plain = a_alone.evaluate(std::span(&t, 1));
    CHECK(max_diff(traced_copy, plain) < 1e-4);
    CHECK(split_seen.ops == whole_seen.ops);
    CHECK(split_seen.layers == whole_seen.layers);
    CHECK(split_seen.ops > 10 * whole->config().num_layers);
    CHECK(split_seen.missing_outputs == 0);  // CPU buffers are host memory: every output is seen
}

TEST_CASE("gpu_layers: 0 runs on the CPU even when CUDA is asked for; a negative count other than -1 is an error") {
    auto m = Model::load(kModel, ModelParams{Device::cuda, 1, 0});
    CHECK(m->device() == Device::cpu);
    CHECK(m->impl().weights.stages.size() == 1);
    Session s(*m);
    const int32_t id = 1;
    CHECK(s.evaluate_greedy(std::span(&id, 1)) >= 0);
    try {
        Model::load(kModel, ModelParams{Device::cpu, 1, -2});
        FAIL("gpu_layers = -2 was accepted");
    } catch (const Error& e) {
        INFO(e.what());
        CHECK(e.code() == ErrorCode::invalid_argument);
        CHECK(std::string(e.what()).find("gpu_layers") != std::string::npos);
    }
}

TEST_CASE("the CPU's fused ops (q/k/v and gate/up sharing one quantized input) give the single ops' logits, bit for bit") {
    // Without an observer the forward pass runs the fused ops; an observer
    // sees every single op (each product quantizing its input itself).
    auto model = Model::load(kModel, ModelParams{Device::cpu, 2, -1});
    const auto ids = model->tokenizer()->encode("The quick brown fox jumps over the lazy dog because");
    for (const int64_t chunk : {int64_t{1}, int64_t{4}, static_cast<int64_t>(ids.size())}) {  // decode rows and prompt tiles
        INFO("tokens per evaluation " << chunk);
        Session fused(*model), single(*model);
        CountingObserver seen;
        single.set_observer(&seen);
        std::vector<float> a, b;
        for (size_t i = 0; i < ids.size(); i += static_cast<size_t>(chunk)) {
            const auto part = std::span(ids).subspan(i, std::min(ids.size() - i, static_cast<size_t>(chunk)));
            const auto fa = fused.evaluate(part);
            const auto fb = single.evaluate(part);
            a.assign(fa.begin(), fa.end());
            b.assign(fb.begin(), fb.end());
            REQUIRE(a.size() == b.size());
            CHECK(std::equal(a.begin(), a.end(), b.begin()));
        }
        CHECK(seen.ops > 0);
    }
}
