// apr::export_model on the fixtures: GGUF -> APR -> GGUF gives back every
// tensor byte for byte and every metadata key; APR -> Hugging Face folder
// gives back config fields, tokenizer files and tensor values.
#include "convert_test_support.hpp"

#include <simdjson.h>

#include "apr/convert.hpp"
#include "apr/tokenizer.hpp"
#include "quant/dequantize.hpp"

using namespace apr;

namespace {

const char* const kGgufFixtures[] = {"nano-f16.gguf", "nano-q8_0.gguf", "nano-q4_0.gguf", "nano-q4_k_m.gguf"};


// Every tensor of `a` has the same values in `b` (after dequantizing both).
void check_same_values(const ModelFile& a, const ModelFile& b) {
    REQUIRE(a.tensors().size() == b.tensors().size());
    for (const TensorView& t : a.tensors()) {
        INFO("tensor " << t.name);
        const TensorView* u = b.find_tensor(t.name);
        REQUIRE(u != nullptr);
        CHECK(u->shape == t.shape);
        CHECK(quant::dequantize(t) == quant::dequantize(*u));
    }
}

void check_config_fields(const ModelConfig& a, const ModelConfig& b) {
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
    CHECK(a.eos_token_ids == b.eos_token_ids);
}

}  // namespace

TEST_CASE("GGUF -> APR -> GGUF: tensor data byte-identical and every metadata key back, for every fixture") {
    test::TempDir dir;
    for (const char* name : kGgufFixtures) {
        INFO(name);
        const auto apr_path = dir / (std::string(name) + ".apr");
        const auto back_path = dir / (std::string(name) + ".back.gguf");
        import_model(test::nano_gguf(name), apr_path);
        ExportParams params;
        params.format = ExportFormat::gguf;
        export_model(apr_path, back_path, params);
        const auto original = open_model_file(test::nano_gguf(name));
        const auto back = open_model_file(back_path);
        test::check_same_tensors(*original, *back);
        CHECK(original->metadata().size() == back->metadata().size());
        for (const auto& [key, value] : original->metadata()) {
            INFO("metadata " << key);
            const MetaValue* v = back->find_metadata(key);
            REQUIRE(v != nullptr);
            CHECK(test::same_meta(value, *v));
        }
    }
}

TEST_CASE("GGUF -> APR -> GGUF: the re-exported file gives the GGUF's greedy tokens") {
    test::TempDir dir;
    import_model(test::nano_gguf("nano-q4_k_m.gguf"), dir / "m.apr");
    ExportParams params;
    export_model(dir / "m.apr", dir / "m.gguf", params);
    CHECK(test::greedy_ids(dir / "m.gguf", 4) == test::greedy_ids(test::nano_gguf("nano-q4_k_m.gguf"), 4));
}

TEST_CASE("HF folder -> APR -> HF folder: config, tokenizer files byte for byte, tensor values") {
    test::TempDir dir;
    import_model(test::nano_dir(), dir / "nano.apr");  // f32
    ExportParams params;
    params.format = ExportFormat::safetensors;
    export_model(dir / "nano.apr", dir / "out", params);
    for (const char* file : {"config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json"}) {
        INFO(file);
        CHECK(test::read_text_file(dir / "out" / file) == test::read_text_file(test::nano_dir() / file));
    }
    const auto original = open_model_file(test::nano_dir());
    const auto back = open_model_file(dir / "out");
    check_config_fields(original->config(), back->config());
    for (const TensorView& t : back->tensors()) CHECK(t.dtype == DType::F32);
    for (const TensorView& t : back->tensors()) CHECK(t.source_name == original->tensor(t.name).source_name);
    check_same_values(*original, *back);  // bf16 -> f32 is exact
    CHECK_THROWS_WITH(export_model(dir / "nano.apr", dir / "out", params), Catch::Contains("already exists"));
    params.overwrite = true;
    CHECK_NOTHROW(export_model(dir / "nano.apr", dir / "out", params));
}

TEST_CASE("GGUF -> APR -> HF folder: built config.json and tokenizer.json reproduce the model and its tokens") {
    test::TempDir dir;
    import_model(test::nano_gguf("nano-f16.gguf"), dir / "f16.apr");
    ExportParams params;
    params.format = ExportFormat::safetensors;
    export_model(dir / "f16.apr", dir / "out", params);
    const auto gguf = open_model_file(test::nano_gguf("nano-f16.gguf"));
    const auto hf = open_model_file(dir / "out");
    // The GGUF's config (its eos list has no <|endoftext|>: the GGUF never said so).
    check_config_fields(gguf->config(), hf->config());
    check_same_values(*gguf, *hf);
    // The built tokenizer.json tokenizes every reference prompt as transformers did.
    const auto tok = Tokenizer::from_file(dir / "out");
    for (const test::HfCase& c : test::hf_cases()) {
        INFO(c.prompt_text);
        CHECK(tok->encode(c.prompt_text, true) == c.prompt_ids);
    }
    CHECK(hf->tokenizer_summary().has_chat_template);
    CHECK(hf->tokenizer_summary().pre_tokenizer == "qwen2");
}

TEST_CASE("export: refuses non-APR input and unknown folders clearly") {
    test::TempDir dir;
    ExportParams params;
    CHECK_THROWS_WITH(export_model(test::nano_gguf("nano-q8_0.gguf"), dir / "x.gguf", params),
                      Catch::Contains("export reads APR files"));
}
