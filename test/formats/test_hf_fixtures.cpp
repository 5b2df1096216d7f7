// The Hugging Face readers against the shared fixtures: the nano model's
// folder (config.json, generation_config.json, bf16 model.safetensors,
// tokenizer files) must describe the same model as its GGUF conversions.
#include <catch2/catch.hpp>

#include <cstring>
#include <map>

#include "apr/error.hpp"
#include "apr/model_file.hpp"
#include "core/half.hpp"
#include "support/fixtures.hpp"

namespace {

std::filesystem::path nano_dir() { return apr::test::fixtures_dir() / "nano"; }

}  // namespace

TEST_CASE("the nano Hugging Face folder reads with the nano config") {
    const auto file = apr::open_model_file(nano_dir());
    CHECK(file->format() == apr::FileFormat::hf_directory);
    const auto& c = file->config();
    CHECK(c.architecture == "qwen2");
    CHECK(c.hidden_size == 512);
    CHECK(c.num_layers == 4);
    CHECK(c.num_heads == 4);
    CHECK(c.num_kv_heads == 2);
    CHECK(c.head_dim == 128);
    CHECK(c.intermediate_size == 1024);
    CHECK(c.vocab_size == 2048);
    CHECK(c.rope_theta == 1e6);
    CHECK(c.rms_norm_eps == 1e-6);
    CHECK(c.tied_embeddings);
    CHECK(c.attention_bias);
    CHECK(c.context_length == 2048);
    CHECK(c.bos_token_id == 2016);
    CHECK(c.pad_token_id == 2016);
    CHECK(c.eos_token_ids == std::vector<int32_t>{2018, 2016});  // generation_config.json wins
    CHECK(c.torch_dtype == "bfloat16");
    CHECK(c.rope_type == "default");
    CHECK(file->metadata().empty());
}

TEST_CASE("HF tensors get canonical names and keep their source names") {
    const auto file = apr::open_model_file(nano_dir());
    CHECK(file->tensors().size() == 50);
    const auto& embd = file->tensor("token_embd.weight");
    CHECK(embd.source_name == "model.embed_tokens.weight");
    CHECK(embd.dtype == apr::DType::BF16);
    CHECK(embd.shape == std::vector<int64_t>{2048, 512});
    CHECK(file->tensor("blk.2.attn_q.bias").source_name == "model.layers.2.self_attn.q_proj.bias");
    CHECK(file->tensor("blk.3.attn_output.weight").source_name == "model.layers.3.self_attn.o_proj.weight");
    CHECK(file->tensor("blk.0.ffn_norm.weight").source_name == "model.layers.0.post_attention_layernorm.weight");
    CHECK(file->tensor("output_norm.weight").source_name == "model.norm.weight");
    CHECK(file->find_tensor("output.weight") == nullptr);
    for (const auto& t : file->tensors()) CHECK(t.nbytes == static_cast<size_t>(t.elements()) * 2);
}

TEST_CASE("GGUF and HF give the same config, tensor names and shapes") {
    const auto hf = apr::open_model_file(nano_dir());
    const auto gguf = apr::open_model_file(nano_dir() / "gguf" / "nano-f16.gguf");
    const auto& a = hf->config();
    const auto& b = gguf->config();
    CHECK(a.architecture == b.architecture);
    CHECK(a.hidden_size == b.hidden_size);
    CHECK(a.num_layers == b.num_layers);
    CHECK(a.num_heads == b.num_heads);
    CHECK(a.num_kv_heads == b.num_kv_heads);
    CHECK(a.head_dim == b.head_dim);
    CHECK(a.intermediate_size == b.intermediate_size);
    CHECK(a.vocab_size == b.vocab_size);
    CHECK(a.rope_theta == b.rope_theta);
    CHECK(a.rms_norm_eps == b.rms_norm_eps);
    CHECK(a.tied_embeddings == b.tied_embeddings);
    CHECK(a.attention_bias == b.attention_bias);
    CHECK(a.context_length == b.context_length);
    CHECK(a.bos_token_id == b.bos_token_id);
    CHECK(a.pad_token_id == b.pad_token_id);
    CHECK(a.eos_token_ids.front() == b.eos_token_ids.front());

    std::map<std::string, std::vector<int64_t>> hf_shapes, gguf_shapes;
    for (const auto& t : hf->tensors()) hf_shapes[t.name] = t.shape;
    for (const auto& t : gguf->tensors()) gguf_shapes[t.name] = t.shape;
    CHECK(hf_shapes == gguf_shapes);
}

TEST_CASE("the same weights in bf16 SafeTensors and the f16 GGUF") {
    const auto hf = apr::open_model_file(nano_dir());
    const auto gguf = apr::open_model_file(nano_dir() / "gguf" / "nano-f16.gguf");
    // Norm weights are F32 in the GGUF and exact copies of the bf16 values.
    const auto& hf_norm = hf->tensor("blk.1.attn_norm.weight");
    const auto& gguf_norm = gguf->tensor("blk.1.attn_norm.weight");
    REQUIRE(gguf_norm.dtype == apr::DType::F32);
    for (int64_t i = 0; i < 512; ++i) {
        uint16_t h;
        float g;
        std::memcpy(&h, hf_norm.data + 2 * i, 2);
        std::memcpy(&g, gguf_norm.data + 4 * i, 4);
        REQUIRE(apr::bf16_to_f32(h) == g);
    }
    // Matrices are f16 in the GGUF: same rows, same values within f16 rounding.
    const auto& hf_q = hf->tensor("blk.0.attn_q.weight");
    const auto& gguf_q = gguf->tensor("blk.0.attn_q.weight");
    REQUIRE(gguf_q.dtype == apr::DType::F16);
    for (int64_t i = 0; i < hf_q.elements(); i += 97) {
        uint16_t h, f;
        std::memcpy(&h, hf_q.data + 2 * i, 2);
        std::memcpy(&f, gguf_q.data + 2 * i, 2);
        REQUIRE(apr::f16_to_f32(f) == Approx(apr::bf16_to_f32(h)).epsilon(1e-3).margin(1e-7));
    }
}

TEST_CASE("HF tokenizer summary of the nano model and the real Qwen2.5 tokenizer") {
    const auto nano = apr::open_model_file(nano_dir());
    const auto& s = nano->tokenizer_summary();
    CHECK(s.model == "gpt2");
    CHECK(s.pre_tokenizer == "qwen2");
    CHECK(s.vocab_size == 2038);  // 2016 BPE entries + 22 added tokens (the embedding is padded to 2048)
    CHECK(s.has_chat_template);
    using Roles = std::vector<std::pair<std::string, int32_t>>;
    CHECK(s.special_tokens == Roles{{"eos", 2018}, {"pad", 2016}});

    // A tokenizer-only download: config.json, no weights.
    const auto qwen = apr::open_model_file(apr::test::fixtures_dir() / "qwen2.5-tokenizer");
    CHECK(qwen->tensors().empty());
    CHECK(qwen->config().hidden_size == 1536);
    CHECK(qwen->config().vocab_size == 151936);
    CHECK(qwen->config().eos_token_ids == std::vector<int32_t>{151645, 151643});
    const auto& q = qwen->tokenizer_summary();
    CHECK(q.model == "gpt2");
    CHECK(q.pre_tokenizer == "qwen2");
    CHECK(q.vocab_size == 151665);
    CHECK(q.has_chat_template);
    CHECK(q.special_tokens == Roles{{"eos", 151645}, {"pad", 151643}});
}

TEST_CASE("a lone model.safetensors takes config.json from beside it") {
    const auto file = apr::open_model_file(nano_dir() / "model.safetensors");
    CHECK(file->format() == apr::FileFormat::safetensors);
    CHECK(file->config().num_kv_heads == 2);
    CHECK(file->config().tied_embeddings);
    CHECK(file->tensors().size() == 50);
}
