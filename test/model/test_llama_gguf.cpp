// The plain Llama path of a GGUF: llama.cpp's converter permutes the q/k rows
// of Llama models so that rotary pairs are adjacent ((2i, 2i+1), "normal"
// rope) instead of NEOX's (i, i + d/2). Rewriting the vendored Qwen2 model as
// a "llama" GGUF with exactly that permutation must give the same logits and
// greedy tokens, which checks the architecture switch and the normal rope.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstring>

#include "apr/generate.hpp"
#include "apr/model.hpp"
#include "apr/session.hpp"
#include "apr/tokenizer.hpp"
#include "formats/gguf_writer.hpp"
#include "support/fixtures.hpp"

using namespace apr;

namespace {

// Rows of each head reordered as convert_hf_to_gguf.py's permute(): new row
// 2i + h of a head is old row h * d/2 + i.
std::vector<std::byte> permute_rows(const TensorView& t, int64_t head_dim) {
    const int64_t rows = t.shape[0];
    const size_t row_bytes = t.nbytes / static_cast<size_t>(rows);
    std::vector<std::byte> out(t.nbytes);
    for (int64_t head = 0; head < rows / head_dim; ++head)
        for (int64_t i = 0; i < head_dim / 2; ++i)
            for (int64_t h = 0; h < 2; ++h) {
                const int64_t from = head * head_dim + h * head_dim / 2 + i;
                const int64_t to = head * head_dim + 2 * i + h;
                std::memcpy(out.data() + to * row_bytes, t.data + from * row_bytes, row_bytes);
            }
    return out;
}

std::filesystem::path write_llama_copy(const ModelFile& qwen) {
    formats::GgufWriter w;
    for (const auto& [key, value] : qwen.metadata()) {
        if (key == "general.architecture") w.set(key, formats::meta_string_value("llama"));
        else if (key.rfind("qwen2.", 0) == 0) w.set("llama." + key.substr(6), value);
        else w.set(key, value);
    }
    const int64_t hd = qwen.config().head_dim;
    for (const TensorView& t : qwen.tensors()) {
        const bool qk = t.name.find("attn_q.") != std::string::npos || t.name.find("attn_k.") != std::string::npos;
        if (qk) {
            // biases are vectors: the same permutation of their entries
            TensorView as_rows = t;
            if (t.shape.size() == 1) as_rows.shape = {t.shape[0], 1};
            w.add_tensor(t.name, t.dtype, t.shape, permute_rows(as_rows, hd));
        } else {
            w.add_tensor(t.name, t.dtype, t.shape, std::span<const std::byte>(t.data, t.nbytes));
        }
    }
    const auto path = std::filesystem::temp_directory_path() / ("apr-llama-test-" + std::to_string(::getpid()) + ".gguf");
    w.write(path);
    return path;
}

}  // namespace

TEST_CASE("a Llama GGUF (permuted q/k, normal rope) computes what the Qwen2 original does") {
    auto qwen = Model::load(test::vendored_models_dir() / "nano" / "nano-q4_k_m.gguf");
    const auto path = write_llama_copy(qwen->file());
    struct Cleanup {
        std::filesystem::path p;
        ~Cleanup() { std::filesystem::remove(p); }
    } cleanup{path};
    auto llama = Model::load(path);
    REQUIRE(llama->config().architecture == "llama");

    const std::vector<int32_t> prompt = qwen->tokenizer()->encode("def fibonacci(n):\n");
    SessionParams sp;
    sp.kv_cache_type = KVCacheType::f32;  // isolate the rope from f16 rounding
    Session a(*qwen, sp), b(*llama, sp);
    const std::span<const float> x = a.evaluate(prompt);
    const std::vector<float> want(x.begin(), x.end());
    const std::span<const float> y = b.evaluate(prompt);
    double max_diff = 0;
    for (size_t i = 0; i < want.size(); ++i) max_diff = std::max(max_diff, double(std::abs(want[i] - y[i])));
    INFO("max logit difference " << max_diff);
    CHECK(max_diff < 1e-3);  // same math; only the Q.K summation order differs

    a.reset();
    b.reset();
    GenerateParams gp;
    gp.max_tokens = 12;
    CHECK(generate(a, prompt, gp).tokens == generate(b, prompt, gp).tokens);
}
