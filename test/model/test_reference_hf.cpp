// The forward pass against Hugging Face transformers (float32) on the nano
// model: bf16 SafeTensors (HF directory) and the f16 GGUF conversion.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "apr/generate.hpp"
#include "apr/model.hpp"
#include "apr/session.hpp"
#include "reference_cases.hpp"
#include "support/prerequisites.hpp"

using namespace apr;

namespace {

const std::vector<test::HfCase>& cases() {
    static const std::vector<test::HfCase> c = test::load_hf_cases();
    return c;
}

void check_first_step(Session& session, const test::HfCase& c, int index) {
    INFO("case " << index << ": " << c.prompt_text);
    session.reset();
    const std::span<const float> logits = session.evaluate(c.prompt_ids);
    const std::vector<TokenLogprob> top = top_logprobs(logits, 10);
    const std::vector<double> ref = test::log_softmax(c.last_logits);
    std::vector<int32_t> ids;
    for (const auto& t : top) ids.push_back(t.id);
    CHECK(ids == c.top10_ids);
    for (const auto& t : top) CHECK(std::abs(t.logprob - ref[static_cast<size_t>(t.id)]) < 1e-3);
}

void check_greedy(Session& session, const test::HfCase& c, int index) {
    INFO("case " << index << ": " << c.prompt_text);
    session.reset();
    GenerateParams params;
    params.max_tokens = static_cast<int64_t>(c.greedy_ids.size());
    const GenerateResult r = generate(session, c.prompt_ids, params);
    CHECK(r.tokens == c.greedy_ids);
}

// kv unset: the default cache type, f32 for these full-precision models.
void check_model(const std::filesystem::path& path, std::optional<KVCacheType> kv = std::nullopt) {
    auto model = Model::load(path, ModelParams{});
    SessionParams sp;
    sp.kv_cache_type = kv;
    if (!kv) CHECK(Session(*model).kv_cache_type() == KVCacheType::f32);
    Session session(*model, sp);
    // reference_hf.json holds 10 prompts (7 chat, 3 raw code): an empty or
    // shortened list must fail, not pass by comparing nothing.
    REQUIRE(cases().size() == 10);
    size_t compared = 0;
    for (size_t i = 0; i < cases().size(); ++i) {
        check_first_step(session, cases()[i], static_cast<int>(i));
        check_greedy(session, cases()[i], static_cast<int>(i));
        ++compared;
    }
    CHECK(compared == 10);
}

}  // namespace

// Default session parameters: full-precision weights get an f32 KV cache
// (an f16 cache would move log-probs by up to ~5e-3; the greedy tokens stay
// the same), so a new user's first run matches transformers.
TEST_CASE("HF directory (bf16 SafeTensors): top-10 log-probs and greedy tokens match transformers") {
    check_model(test::fixtures_dir() / "nano");
}

TEST_CASE("nano-f16.gguf: top-10 log-probs and greedy tokens match transformers") {
    check_model(test::fixtures_dir() / "nano" / "gguf" / "nano-f16.gguf");
}

namespace {
std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

// `apr run MODEL --raw --json --logprobs 10` with default flags otherwise.
void check_cli(const std::filesystem::path& path) {
    APR_REQUIRE_CLI(cli);
    for (size_t i = 0; i < cases().size(); ++i) {
        const test::HfCase& c = cases()[i];
        INFO("case " << i << ": " << c.prompt_text);
        const std::string command = cli.string() + " run " + shell_quote(path.string()) + " --raw --json --logprobs 10" +
                                    " --max-tokens " + std::to_string(c.greedy_ids.size()) + " --prompt " +
                                    shell_quote(c.prompt_text) + " 2>/dev/null";
        FILE* pipe = popen(command.c_str(), "r");
        REQUIRE(pipe != nullptr);
        std::string out;
        std::array<char, 4096> buf;
        size_t n;
        while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
        REQUIRE(pclose(pipe) == 0);
        simdjson::dom::parser parser;
        simdjson::dom::element doc = parser.parse(simdjson::padded_string(out));
        CHECK(int64_t(doc["prompt_tokens"]) == static_cast<int64_t>(c.prompt_ids.size()));
        std::vector<int32_t> tokens;
        for (int64_t id : doc["tokens"].get_array()) tokens.push_back(static_cast<int32_t>(id));
        CHECK(tokens == c.greedy_ids);
        const std::vector<double> ref = test::log_softmax(c.last_logits);
        std::vector<int32_t> top_ids;
        for (simdjson::dom::element t : doc["logprobs"].at(0)["top_logprobs"].get_array()) {
            const int64_t id = t["id"];
            top_ids.push_back(static_cast<int32_t>(id));
            CHECK(std::abs(double(t["logprob"]) - ref[static_cast<size_t>(id)]) < 1e-3);
        }
        CHECK(top_ids == c.top10_ids);
    }
}
}  // namespace

TEST_CASE("apr run --json --logprobs 10 with default flags matches transformers (HF directory and nano-f16.gguf)") {
    check_cli(test::fixtures_dir() / "nano");
    check_cli(test::fixtures_dir() / "nano" / "gguf" / "nano-f16.gguf");
}

namespace {
struct HiddenCollector : Observer {
    std::vector<std::vector<float>> stages;  // each rows x cols
    int64_t cols = 0;
    void on_layer(const LayerEvent& e) override {
        stages.emplace_back(e.hidden, e.hidden + e.rows * e.cols);
        cols = e.cols;
    }
};
}  // namespace

TEST_CASE("HF directory: hidden states of case 0 match layer by layer") {
    const test::HfCase& c = cases()[0];
    REQUIRE(!c.hidden_states.empty());
    auto model = Model::load(test::fixtures_dir() / "nano", ModelParams{});
    HiddenCollector collector;
    SessionParams sp;
    sp.kv_cache_type = KVCacheType::f32;
    sp.observer = &collector;
    Session session(*model, sp);
    session.evaluate_all(c.prompt_ids);
    // Ours: embedding, every block output, final norm. HF's list ends with
    // the final norm in place of the last block's output.
    const size_t layers = static_cast<size_t>(model->config().num_layers);
    REQUIRE(collector.stages.size() == layers + 2);
    REQUIRE(c.hidden_states.size() == layers + 1);
    for (size_t s = 0; s < c.hidden_states.size(); ++s) {
        const size_t ours = s + 1 < c.hidden_states.size() ? s : layers + 1;
        double max_err = 0, max_ref = 0;
        for (size_t p = 0; p < c.prompt_ids.size(); ++p)
            for (size_t i = 0; i < static_cast<size_t>(collector.cols); ++i) {
                const double ref = c.hidden_states[s][p][i];
                max_err = std::max(max_err, std::abs(collector.stages[ours][p * collector.cols + i] - ref));
                max_ref = std::max(max_ref, std::abs(ref));
            }
        INFO("stage " << s << ": max abs error " << max_err << " (max |ref| " << max_ref << ")");
        CHECK(max_err <= 1e-4 * std::max(1.0, max_ref));
    }
}
