// apr::import_model on the real fixtures: GGUF -> APR keeps every tensor's
// bytes, metadata and config and gives the same greedy tokens; the HF folder
// -> APR (f32) gives transformers' greedy tokens and log-probs.
#include "convert_test_support.hpp"

#include "apr/convert.hpp"
#include "apr/tokenizer.hpp"

using namespace apr;

namespace {

const char* const kGgufFixtures[] = {"nano-f16.gguf", "nano-q8_0.gguf", "nano-q4_0.gguf", "nano-q4_k_m.gguf"};


}  // namespace

TEST_CASE("GGUF -> APR: every tensor keeps its bytes, every metadata key and the config") {
    test::TempDir dir;
    for (const char* name : kGgufFixtures) {
        INFO(name);
        const auto apr_path = dir / (std::string(name) + ".apr");
        const ConversionReport report = import_model(test::nano_gguf(name), apr_path);
        const auto gguf = open_model_file(test::nano_gguf(name));
        const auto apr = open_model_file(apr_path);
        CHECK(report.tensors == gguf->tensors().size());
        CHECK(apr->format() == FileFormat::apr);
        CHECK(verify_model_file(*apr));
        test::check_same_tensors(*gguf, *apr);
        for (const auto& [key, value] : gguf->metadata()) {
            INFO("metadata " << key);
            const MetaValue* back = apr->find_metadata(key);
            REQUIRE(back != nullptr);
            CHECK(test::same_meta(value, *back));
        }
        const ModelConfig &a = gguf->config(), &b = apr->config();
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
        CHECK(a.eos_token_ids == b.eos_token_ids);
        CHECK(a.pad_token_id == b.pad_token_id);
        CHECK(gguf->tokenizer_summary().special_tokens == apr->tokenizer_summary().special_tokens);
        CHECK(apr->tokenizer_summary().has_chat_template);
    }
}

TEST_CASE("GGUF -> APR: each APR file gives the same greedy tokens as its GGUF") {
    test::TempDir dir;
    for (const char* name : kGgufFixtures) {
        INFO(name);
        const auto apr_path = dir / (std::string(name) + ".apr");
        import_model(test::nano_gguf(name), apr_path);
        // 16 tokens of each of the 10 cases: the tensors are the same bytes,
        // so this checks config, tokenizer and RoPE layout are carried over.
        const auto from_gguf = test::greedy_ids(test::nano_gguf(name), 100, 16);
        const auto from_apr = test::greedy_ids(apr_path, 100, 16);
        REQUIRE(from_gguf.size() == test::hf_cases().size());
        CHECK(from_apr == from_gguf);
    }
}

TEST_CASE("HF folder -> APR f32: transformers' greedy tokens and top-10 log-probs within 1e-3") {
    test::TempDir dir;
    const auto apr_path = dir / "nano.apr";
    const ConversionReport report = import_model(test::nano_dir(), apr_path);
    for (const auto& [type, n] : report.tensors_per_type) CHECK(type == DType::F32);
    auto model = Model::load(apr_path, ModelParams{});
    SessionParams sp;
    sp.kv_cache_type = KVCacheType::f32;  // as the HF reference test: an f32 computation
    Session session(*model, sp);
    const Tokenizer* tok = model->tokenizer();
    REQUIRE(tok != nullptr);
    for (size_t i = 0; i < test::hf_cases().size(); ++i) {
        const test::HfCase& c = test::hf_cases()[i];
        INFO("case " << i << ": " << c.prompt_text);
        CHECK(tok->encode(c.prompt_text, true) == c.prompt_ids);
        session.reset();
        const std::span<const float> logits = session.evaluate(c.prompt_ids);
        const std::vector<double> ref = test::log_softmax(c.last_logits);
        std::vector<int32_t> ids;
        for (const auto& t : top_logprobs(logits, 10)) {
            ids.push_back(t.id);
            CHECK(std::abs(t.logprob - ref[static_cast<size_t>(t.id)]) < 1e-3);
        }
        CHECK(ids == c.top10_ids);
        session.reset();
        GenerateParams params;
        params.max_tokens = static_cast<int64_t>(c.greedy_ids.size());
        CHECK(generate(session, c.prompt_ids, params).tokens == c.greedy_ids);
    }
}

TEST_CASE("HF folder -> APR: the tokenizer fields equal llama.cpp's GGUF conversion") {
    test::TempDir dir;
    const auto apr_path = dir / "nano.apr";
    import_model(test::nano_dir(), apr_path, ImportParams{DType::BF16, false, {}});
    const auto apr = open_model_file(apr_path);
    const auto gguf = open_model_file(test::nano_gguf("nano-f16.gguf"));
    for (const char* key : {"tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.tokens",
                            "tokenizer.ggml.merges", "tokenizer.chat_template"}) {
        INFO(key);
        const MetaValue* a = apr->find_metadata(key);
        const MetaValue* g = gguf->find_metadata(key);
        REQUIRE(a != nullptr);
        REQUIRE(g != nullptr);
        CHECK(test::same_meta(*a, *g));
    }
    // Token types agree except where llama.cpp's converter guesses: it makes
    // added tokens that merely look special ("<|fim_prefix|>", not special in
    // tokenizer.json) control tokens; the APR import keeps transformers'
    // reading (user-defined), so decoding skips exactly what HF skips.
    const MetaArray& ours = *meta_array(*apr->find_metadata("tokenizer.ggml.token_type"));
    const MetaArray& theirs = *meta_array(*gguf->find_metadata("tokenizer.ggml.token_type"));
    const MetaArray& tokens = *meta_array(*gguf->find_metadata("tokenizer.ggml.tokens"));
    REQUIRE(ours.size() == theirs.size());
    int guessed = 0;
    for (size_t i = 0; i < ours.size(); ++i) {
        const std::string& text = *meta_string(tokens[i]);
        INFO("token " << i << " " << text);
        if (*meta_int(theirs[i]) == 3 && *meta_int(ours[i]) == 4 && text.starts_with("<|") && text.ends_with("|>")) {
            ++guessed;
            continue;
        }
        CHECK(*meta_int(ours[i]) == *meta_int(theirs[i]));
    }
    CHECK(guessed == 6);  // <|fim_prefix|> ... <|file_sep|>
    // bf16 in, bf16 out: the bytes of the SafeTensors file.
    const auto hf = open_model_file(test::nano_dir());
    test::check_same_tensors(*hf, *apr);
    CHECK(apr->config().torch_dtype == "bfloat16");
}

TEST_CASE("import: refuses to overwrite, and reports a bad source by name") {
    test::TempDir dir;
    const auto target = dir / "x.apr";
    test::write_file(target, "keep me");
    CHECK_THROWS_WITH(import_model(test::nano_gguf("nano-q8_0.gguf"), target),
                      Catch::Contains("already exists"));
    CHECK(test::read_text_file(target) == "keep me");
    test::write_file(dir / "bad.gguf", "GGUF");
    CHECK_THROWS_WITH(import_model(dir / "bad.gguf", dir / "y.apr"), Catch::Contains("bad.gguf"));
    CHECK(!std::filesystem::exists(dir / "y.apr"));
}
