// Loading models whose tensors do not fit their config fails with an
// apr::Error naming the tensor; observers see every op of a forward pass.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <functional>

#include "apr/error.hpp"
#include "apr/model.hpp"
#include "apr/session.hpp"
#include "formats/gguf_writer.hpp"
#include "support/fixtures.hpp"

using namespace apr;

namespace {

const std::filesystem::path kModel = test::vendored_models_dir() / "nano" / "nano-q4_k_m.gguf";

// Writes a copy of the vendored model where `edit` may replace or drop each
// tensor (return false to drop it), then expects Model::load to fail with
// `code` and a message containing `needle`.
void expect_load_error(const std::function<bool(const TensorView&, formats::GgufWriter&)>& edit, ErrorCode code,
                       const std::string& needle) {
    auto source = open_model_file(kModel);
    formats::GgufWriter w;
    for (const auto& [key, value] : source->metadata()) w.set(key, value);
    for (const TensorView& t : source->tensors())
        if (edit(t, w)) w.add_tensor(t.name, t.dtype, t.shape, std::span<const std::byte>(t.data, t.nbytes));
    const auto path = std::filesystem::temp_directory_path() / ("apr-bad-model-" + std::to_string(::getpid()) + ".gguf");
    w.write(path);
    try {
        Model::load(path);
        std::filesystem::remove(path);
        FAIL("the model loaded");
    } catch (const Error& e) {
        std::filesystem::remove(path);
        INFO(e.what());
        CHECK(e.code() == code);
        CHECK(std::string(e.what()).find(needle) != std::string::npos);
    }
}

}  // namespace

TEST_CASE("a missing layer tensor is not_found, naming it") {
    expect_load_error([](const TensorView& t, formats::GgufWriter&) { return t.name != "blk.2.ffn_up.weight"; },
                      ErrorCode::not_found, "blk.2.ffn_up.weight");
}

TEST_CASE("a tensor whose shape disagrees with the config is bad_format, naming it") {
    expect_load_error(
        [](const TensorView& t, formats::GgufWriter& w) {
            if (t.name != "blk.1.attn_norm.weight") return true;
            // 256 instead of 512 values (f32)
            w.add_tensor(t.name, t.dtype, {256}, std::vector<std::byte>(256 * 4));
            return false;
        },
        ErrorCode::bad_format, "blk.1.attn_norm.weight");
}

namespace {
struct OpCounter : Observer {
    std::vector<std::string> names;
    int layers = 0;
    void on_op(const OpEvent& e) override {
        names.emplace_back(e.name);
        REQUIRE(e.output != nullptr);
        REQUIRE(e.rows > 0);
    }
    void on_layer(const LayerEvent&) override { ++layers; }
};
}  // namespace

TEST_CASE("an observer sees every op and layer boundary of a forward pass") {
    auto model = Model::load(kModel);
    OpCounter counter;
    SessionParams sp;
    sp.observer = &counter;
    Session session(*model, sp);
    const std::vector<int32_t> tokens = {100, 200, 300};
    session.evaluate(tokens);
    // embed; per layer: norm, q, k, v, 3 biases, 2 ropes, attention, o, add,
    // norm, gate, up, swiglu, down, add (18); final norm; LM head
    CHECK(counter.names.size() == 1 + 4 * 18 + 2);
    CHECK(counter.names.front() == "token_embd.weight");
    CHECK(counter.names[2] == "blk.0.attn_q.weight");
    CHECK(counter.names.back() == "token_embd.weight");  // tied LM head
    CHECK(counter.layers == 1 + 4 + 1);  // embedding, 4 blocks, final norm
    session.set_observer(nullptr);
    counter.names.clear();
    session.evaluate(tokens);
    CHECK(counter.names.empty());
}
