// The GGUF reader against the real files in the shared fixtures: the nano
// model in four quantizations and the vocab-only Qwen2.5 GGUF.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>

#include "apr/error.hpp"
#include "apr/model_file.hpp"
#include "formats/gguf_reader.hpp"
#include "support/fixtures.hpp"

namespace {

using apr::DType;

std::filesystem::path nano_gguf(const char* name) { return apr::test::fixtures_dir() / "nano" / "gguf" / name; }

void check_nano_config(const apr::ModelConfig& c) {
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
}

std::map<DType, int> count_types(const apr::ModelFile& file) {
    std::map<DType, int> counts;
    for (const auto& t : file.tensors()) ++counts[t.dtype];
    return counts;
}

}  // namespace

TEST_CASE("every nano GGUF reads with the nano config and 50 tensors") {
    for (const char* name : {"nano-f16.gguf", "nano-q8_0.gguf", "nano-q4_0.gguf", "nano-q4_k_m.gguf"}) {
        INFO(name);
        const auto file = apr::open_model_file(nano_gguf(name));
        CHECK(file->format() == apr::FileFormat::gguf);
        check_nano_config(file->config());
        CHECK(file->config().bos_token_id == 2016);
        CHECK(file->config().pad_token_id == 2016);
        CHECK(file->config().eos_token_ids == std::vector<int32_t>{2018});
        CHECK(file->tensors().size() == 50);  // 2 + 4 layers x 12
        CHECK(file->find_tensor("output.weight") == nullptr);
        const auto& embd = file->tensor("token_embd.weight");
        CHECK(embd.shape == std::vector<int64_t>{2048, 512});
        CHECK(file->tensor("blk.0.ffn_down.weight").shape == std::vector<int64_t>{512, 1024});
        CHECK(file->tensor("blk.3.attn_k.weight").shape == std::vector<int64_t>{256, 512});
        CHECK(file->tensor("blk.1.attn_q.bias").shape == std::vector<int64_t>{512});
        CHECK(file->tensor("blk.2.attn_norm.weight").dtype == DType::F32);
        for (const auto& t : file->tensors()) {
            INFO(t.name);
            CHECK(t.source_name == t.name);
            CHECK(t.nbytes == apr::dtype_bytes(t.dtype, t.elements()));
            CHECK(reinterpret_cast<uintptr_t>(t.data) % 32 == 0);
        }
    }
}

TEST_CASE("GGUF tensor types follow the quantization of each nano file") {
    const auto f16 = apr::open_model_file(nano_gguf("nano-f16.gguf"));
    CHECK(f16->tensor("blk.0.attn_q.weight").dtype == DType::F16);
    CHECK(count_types(*f16) == std::map<DType, int>{{DType::F32, 21}, {DType::F16, 29}});

    const auto q8 = apr::open_model_file(nano_gguf("nano-q8_0.gguf"));
    CHECK(q8->tensor("blk.0.ffn_up.weight").dtype == DType::Q8_0);

    const auto q4 = apr::open_model_file(nano_gguf("nano-q4_0.gguf"));
    CHECK(q4->tensor("blk.0.ffn_up.weight").dtype == DType::Q4_0);

    const auto km = apr::open_model_file(nano_gguf("nano-q4_k_m.gguf"));
    const auto counts = count_types(*km);
    CHECK(counts.at(DType::F32) == 21);
    CHECK(counts.at(DType::Q4_K) + counts.at(DType::Q6_K) == 29);
    CHECK(km->tensor("token_embd.weight").dtype == DType::Q6_K);
    CHECK(km->tensor("blk.0.attn_q.weight").dtype == DType::Q4_K);
}

TEST_CASE("GGUF F32 tensor data is the file's bytes in place") {
    const auto file = apr::open_model_file(nano_gguf("nano-f16.gguf"));
    const auto& norm = file->tensor("output_norm.weight");
    const std::string bytes = apr::test::read_text_file(file->path());
    REQUIRE(norm.nbytes == 512 * 4);
    // Parse the file read with ordinary I/O and compare its bytes at the
    // tensor's offset with what the view of the mapping shows.
    const auto contents = apr::formats::parse_gguf(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size(), "copy");
    CHECK(contents.data_offset == 63808);  // 63794 bytes of header, padded to 32
    const auto info = std::find_if(contents.tensors.begin(), contents.tensors.end(),
                                   [](const auto& t) { return t.name == "output_norm.weight"; });
    REQUIRE(info != contents.tensors.end());
    CHECK(info->shape == norm.shape);
    CHECK(std::memcmp(norm.data, bytes.data() + contents.data_offset + info->offset, norm.nbytes) == 0);
    float values[512];
    std::memcpy(values, norm.data, sizeof(values));
    for (float v : values) CHECK(std::isfinite(v));
}

TEST_CASE("GGUF metadata keeps every key with its type") {
    const auto file = apr::open_model_file(nano_gguf("nano-q4_k_m.gguf"));
    CHECK(file->metadata().size() == 24);
    const auto* arch = file->find_metadata("general.architecture");
    REQUIRE(arch != nullptr);
    CHECK(arch->type == static_cast<uint32_t>(apr::MetaType::string));
    CHECK(*apr::meta_string(*arch) == "qwen2");
    const auto* tokens = file->find_metadata("tokenizer.ggml.tokens");
    REQUIRE(tokens != nullptr);
    CHECK(tokens->type == static_cast<uint32_t>(apr::MetaType::array));
    CHECK(tokens->element_type == static_cast<uint32_t>(apr::MetaType::string));
    REQUIRE(apr::meta_array(*tokens)->size() == 2048);
    CHECK(*apr::meta_string(apr::meta_array(*tokens)->at(0)) == "!");
    CHECK(*apr::meta_string(apr::meta_array(*tokens)->at(2018)) == "<|im_end|>");
    const auto* types = file->find_metadata("tokenizer.ggml.token_type");
    REQUIRE(types != nullptr);
    CHECK(types->element_type == static_cast<uint32_t>(apr::MetaType::int32));
    CHECK(apr::meta_int(apr::meta_array(*types)->at(0)) == 1);
    const auto* eps = file->find_metadata("qwen2.attention.layer_norm_rms_epsilon");
    REQUIRE(eps != nullptr);
    CHECK(eps->type == static_cast<uint32_t>(apr::MetaType::float32));
    CHECK(apr::meta_float(*eps) == Approx(1e-6));
    CHECK(apr::meta_bool(*file->find_metadata("tokenizer.ggml.add_bos_token")) == false);
    CHECK(apr::meta_int(*file->find_metadata("general.file_type")) == 15);
    CHECK(apr::meta_array(*file->find_metadata("tokenizer.ggml.merges"))->size() == 1760);
}

TEST_CASE("GGUF tokenizer summary of the nano model") {
    const auto file = apr::open_model_file(nano_gguf("nano-q4_k_m.gguf"));
    const auto& s = file->tokenizer_summary();
    CHECK(s.model == "gpt2");
    CHECK(s.pre_tokenizer == "qwen2");
    CHECK(s.vocab_size == 2048);
    CHECK(s.has_chat_template);
    using Roles = std::vector<std::pair<std::string, int32_t>>;
    CHECK(s.special_tokens == Roles{{"bos", 2016}, {"eos", 2018}, {"pad", 2016}});
}

TEST_CASE("vocab-only Qwen2.5 GGUF: no tensors, real hyperparameters") {
    const auto file = apr::open_model_file(apr::test::fixtures_dir() / "qwen2.5-tokenizer" / "qwen2.5-vocab.gguf");
    CHECK(file->tensors().empty());
    const auto& c = file->config();
    CHECK(c.architecture == "qwen2");
    CHECK(c.hidden_size == 1536);
    CHECK(c.num_layers == 28);
    CHECK(c.num_heads == 12);
    CHECK(c.num_kv_heads == 2);
    CHECK(c.head_dim == 128);
    CHECK(c.intermediate_size == 8960);
    CHECK(c.vocab_size == 151936);  // from the token list: there is no embedding tensor
    CHECK(c.context_length == 32768);
    CHECK(c.rope_theta == 1e6);
    CHECK_FALSE(c.tied_embeddings);  // unknowable without tensors
    CHECK(c.attention_bias);         // Qwen2 always has q/k/v biases
    CHECK(c.eos_token_ids == std::vector<int32_t>{151645});
    const auto& s = file->tokenizer_summary();
    CHECK(s.vocab_size == 151936);
    CHECK(s.pre_tokenizer == "qwen2");
    CHECK(s.has_chat_template);
    CHECK(apr::meta_array(*file->find_metadata("tokenizer.ggml.merges"))->size() == 151387);
}

TEST_CASE("a missing tensor is reported as not_found naming file and tensor") {
    const auto file = apr::open_model_file(nano_gguf("nano-q8_0.gguf"));
    try {
        (void)file->tensor("blk.9.attn_q.weight");
        FAIL("no error");
    } catch (const apr::Error& e) {
        CHECK(e.code() == apr::ErrorCode::not_found);
        CHECK_THAT(e.what(), Catch::Contains("nano-q8_0.gguf") && Catch::Contains("blk.9.attn_q.weight"));
    }
}
