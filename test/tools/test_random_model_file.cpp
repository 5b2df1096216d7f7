// apr-make-random-model's output: the real Qwen2.5-Coder-1.5B hyperparameters
// and tokenizer from the vocab fixture, and a GGUF that libapr's reader opens
// with every planned tensor's shape, type and bytes.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <type_traits>
#include <variant>
#include <unistd.h>

#include "apr/error.hpp"
#include "apr/model_file.hpp"
#include "quant/dequantize.hpp"
#include "support/fixtures.hpp"
#include "tools/random_model_metadata.hpp"
#include "tools/random_model_writer.hpp"

using namespace apr;
using namespace apr::tools;

namespace {

std::filesystem::path vocab_path() { return test::fixtures_dir() / "qwen2.5-tokenizer" / "qwen2.5-vocab.gguf"; }

// A fresh folder under the system temp dir, removed at scope end.
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        path = std::filesystem::temp_directory_path() / ("apr-test-random-model-" + std::to_string(::getpid()));
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

// MetaValue has no operator==; compare type and contents recursively.
bool same(const MetaValue& a, const MetaValue& b) {
    if (a.type != b.type || a.element_type != b.element_type || a.value.index() != b.value.index()) return false;
    if (const auto* x = std::get_if<MetaArray>(&a.value)) {
        const auto& y = std::get<MetaArray>(b.value);
        if (x->size() != y.size()) return false;
        for (size_t i = 0; i < x->size(); ++i)
            if (!same((*x)[i], y[i])) return false;
        return true;
    }
    return std::visit(
        [&](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, MetaArray>) return false;
            else return x == std::get<T>(b.value);
        },
        a.value);
}

}  // namespace

TEST_CASE("the vocab fixture gives Qwen2.5-Coder-1.5B's shape") {
    const auto vocab = open_model_file(vocab_path());
    const Qwen2Shape s = shape_from_vocab_file(*vocab);
    CHECK(s.hidden == 1536);
    CHECK(s.layers == 28);
    CHECK(s.heads == 12);
    CHECK(s.kv_heads == 2);
    CHECK(s.head_dim() == 128);
    CHECK(s.intermediate == 8960);
    CHECK(s.vocab == 151936);
    CHECK(s.context == 32768);
    CHECK(s.rope_theta == 1e6);
    CHECK(s.rms_eps == Approx(1e-6));
}

TEST_CASE("the output metadata keeps the tokenizer and describes the new file") {
    const auto vocab = open_model_file(vocab_path());
    Qwen2Shape s = shape_from_vocab_file(*vocab);
    s.layers = 3;
    const Metadata meta = random_model_metadata(*vocab, s, RandomModelType::q4_k_m, 9);
    for (const auto& [key, value] : vocab->metadata()) {
        if (key.rfind("tokenizer.", 0) != 0) continue;
        INFO(key);
        REQUIRE(meta.count(key) == 1);
        CHECK(same(meta.at(key), value));
    }
    CHECK(meta.count("tokenizer.ggml.merges") == 1);
    CHECK(meta.count("tokenizer.chat_template") == 1);
    CHECK(meta_int(meta.at("qwen2.block_count")) == 3);
    CHECK(meta_int(meta.at("qwen2.embedding_length")) == 1536);
    CHECK(meta_int(meta.at("general.file_type")) == 15);
    REQUIRE(meta_string(meta.at("general.name")) != nullptr);
    CHECK_THAT(*meta_string(meta.at("general.name")), Catch::Contains("random") && Catch::Contains("seed 9"));
}

TEST_CASE("a written random model reads back tensor for tensor") {
    TempDir dir;
    const auto vocab = open_model_file(vocab_path());
    // A narrow model keeps the test fast; the vocab file's tokenizer still
    // has 151936 entries, so the embedding keeps its real row count.
    Qwen2Shape s = shape_from_vocab_file(*vocab);
    s.hidden = 256;
    s.heads = 2;
    s.kv_heads = 1;
    s.intermediate = 512;
    s.vocab = 1024;
    s.layers = 2;
    const auto plan = plan_random_model(s, RandomModelType::q4_k_m);
    Metadata meta = random_model_metadata(*vocab, s, RandomModelType::q4_k_m, 3);
    meta.erase("tokenizer.ggml.tokens");  // 151936 names for 1024 rows would be inconsistent
    meta.erase("tokenizer.ggml.token_type");
    meta.erase("tokenizer.ggml.merges");
    const auto path = dir.path / "random.gguf";
    const uint64_t size = write_random_model(path, meta, plan, 3);
    CHECK(size == std::filesystem::file_size(path));
    CHECK(size > planned_data_bytes(plan));
    // Written atomically: nothing but the file itself is left in the folder.
    CHECK(std::distance(std::filesystem::directory_iterator(dir.path), std::filesystem::directory_iterator()) == 1);

    const auto file = open_model_file(path);
    REQUIRE(file->tensors().size() == plan.size());
    int64_t checked = 0;
    for (const auto& planned : plan) {
        INFO(planned.name);
        const TensorView& t = file->tensor(planned.name);
        CHECK(t.dtype == planned.dtype);
        CHECK(t.shape == planned.shape);
        REQUIRE(t.nbytes == dtype_bytes(planned.dtype, planned.elements()));
        // Checked against what the values must be, not against the writer's
        // own generator run again (which would agree with a broken writer):
        // the stored tensor, dequantized by the reader's side, follows the
        // planned distribution - N(0, 0.02) for weights and biases, 1 + N(0,
        // 0.02) for norm gains, bounded near 3.5 sigma.
        const std::vector<float> values = apr::quant::dequantize(t);
        double sum = 0, sum2 = 0, amax = 0;
        const double center = planned.init == InitKind::norm ? 1.0 : 0.0;
        for (float v : values) {
            const double d = double(v) - center;
            sum += d;
            sum2 += d * d;
            amax = std::max(amax, std::fabs(d));
        }
        const double n = double(values.size());
        const double mean = sum / n, sigma = std::sqrt(sum2 / n - mean * mean);
        CHECK(std::fabs(mean) < (n > 1000 ? 0.002 : 0.01));
        CHECK(sigma > (n > 1000 ? 0.017 : 0.010));
        CHECK(sigma < (n > 1000 ? 0.023 : 0.030));
        CHECK(amax < 0.02 * 3.6 + 0.01);  // + the coarsest type's rounding
        ++checked;
    }
    CHECK(checked == int64_t(plan.size()));
    CHECK(checked == 2 * 12 + 3);  // 12 tensors a layer, embeddings, output, final norm
    CHECK(file->config().hidden_size == 256);
    CHECK(file->config().num_layers == 2);
    CHECK(file->find_metadata("tokenizer.chat_template") != nullptr);
}

TEST_CASE("a vocab file of another architecture is refused by name") {
    // The nano model is Qwen2 too; a Qwen2 file without tokenizer tokens is
    // what a wrong --vocab usually looks like.
    TempDir dir;
    Metadata meta;
    meta["general.architecture"] = MetaValue{static_cast<uint32_t>(MetaType::string), 0, std::string("llama")};
    const auto path = dir.path / "llama.gguf";
    write_random_model(path, meta, {}, 1);
    const auto file = open_model_file(path);
    try {
        shape_from_vocab_file(*file);
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::unsupported);
        CHECK_THAT(e.what(), Catch::Contains("llama.gguf") && Catch::Contains("general.architecture"));
    }
}
