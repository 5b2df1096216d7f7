// SafeTensors and Hugging Face folders built in a temporary folder: single
// files, a sharded checkpoint with its index, the newer config.json layout,
// canonical tensor names, and malformed headers.
#include <catch2/catch.hpp>

#include <cstring>

#include "apr/error.hpp"
#include "apr/model_file.hpp"
#include "formats/safetensors_reader.hpp"
#include "formats/tensor_names.hpp"
#include "support/fixtures.hpp"
#include "temp_dir.hpp"

namespace {

using namespace apr;

struct Entry {
    std::string name;
    std::string dtype;
    std::vector<int64_t> shape;
    size_t bytes_per_value;
};

int64_t count(const std::vector<int64_t>& shape) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}

// A SafeTensors file: the header lists `entries` back to back; each byte of
// tensor k's data is k + 1 so views can be checked.
std::string safetensors_bytes(const std::vector<Entry>& entries, const std::string& header_override = "") {
    std::string header = "{\"__metadata__\":{\"format\":\"pt\"}";
    std::string data;
    for (size_t k = 0; k < entries.size(); ++k) {
        const auto& e = entries[k];
        const size_t n = static_cast<size_t>(count(e.shape)) * e.bytes_per_value;
        std::string shape;
        for (size_t d = 0; d < e.shape.size(); ++d) {
            if (d) shape += ',';
            shape += std::to_string(e.shape[d]);
        }
        header += ",\"" + e.name + "\":{\"dtype\":\"" + e.dtype + "\",\"shape\":[" + shape + "],\"data_offsets\":[" +
                  std::to_string(data.size()) + "," + std::to_string(data.size() + n) + "]}";
        data.append(n, static_cast<char>(k + 1));
    }
    header += "}";
    if (!header_override.empty()) header = header_override;
    while ((8 + header.size()) % 8 != 0) header += ' ';
    const uint64_t length = header.size();
    std::string out(reinterpret_cast<const char*>(&length), 8);
    return out + header + data;
}

const char* kClassicConfig = R"({
  "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64,
  "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
  "intermediate_size": 128, "vocab_size": 32, "max_position_embeddings": 256,
  "rms_norm_eps": 1e-05, "rope_theta": 500000.0, "torch_dtype": "float32",
  "tie_word_embeddings": false, "bos_token_id": 1, "eos_token_id": [2, 3]
})";

std::vector<Entry> llama_entries(int layers, bool with_head) {
    std::vector<Entry> entries = {{"model.embed_tokens.weight", "F32", {32, 64}, 4},
                                  {"model.norm.weight", "F32", {64}, 4}};
    if (with_head) entries.push_back({"lm_head.weight", "F16", {32, 64}, 2});
    for (int i = 0; i < layers; ++i) {
        const std::string p = "model.layers." + std::to_string(i) + ".";
        entries.push_back({p + "input_layernorm.weight", "F32", {64}, 4});
        entries.push_back({p + "self_attn.q_proj.weight", "BF16", {64, 64}, 2});
        entries.push_back({p + "self_attn.k_proj.weight", "BF16", {32, 64}, 2});
        entries.push_back({p + "self_attn.v_proj.weight", "BF16", {32, 64}, 2});
        entries.push_back({p + "self_attn.o_proj.weight", "BF16", {64, 64}, 2});
        entries.push_back({p + "post_attention_layernorm.weight", "F32", {64}, 4});
        entries.push_back({p + "mlp.gate_proj.weight", "BF16", {128, 64}, 2});
        entries.push_back({p + "mlp.up_proj.weight", "BF16", {128, 64}, 2});
        entries.push_back({p + "mlp.down_proj.weight", "BF16", {64, 128}, 2});
    }
    return entries;
}

Error open_error(const std::filesystem::path& path) {
    try {
        (void)open_model_file(path);
    } catch (const Error& e) {
        return e;
    }
    FAIL("opened without error: " << path);
    return Error(ErrorCode::ok, "");
}

}  // namespace

TEST_CASE("HF tensor names map to GGUF's canonical names") {
    using formats::canonical_tensor_name;
    CHECK(canonical_tensor_name("model.embed_tokens.weight") == "token_embd.weight");
    CHECK(canonical_tensor_name("model.norm.weight") == "output_norm.weight");
    CHECK(canonical_tensor_name("lm_head.weight") == "output.weight");
    CHECK(canonical_tensor_name("model.layers.0.input_layernorm.weight") == "blk.0.attn_norm.weight");
    CHECK(canonical_tensor_name("model.layers.12.self_attn.q_proj.weight") == "blk.12.attn_q.weight");
    CHECK(canonical_tensor_name("model.layers.12.self_attn.q_proj.bias") == "blk.12.attn_q.bias");
    CHECK(canonical_tensor_name("model.layers.3.self_attn.k_proj.bias") == "blk.3.attn_k.bias");
    CHECK(canonical_tensor_name("model.layers.3.self_attn.v_proj.weight") == "blk.3.attn_v.weight");
    CHECK(canonical_tensor_name("model.layers.3.self_attn.o_proj.weight") == "blk.3.attn_output.weight");
    CHECK(canonical_tensor_name("model.layers.7.post_attention_layernorm.weight") == "blk.7.ffn_norm.weight");
    CHECK(canonical_tensor_name("model.layers.7.mlp.gate_proj.weight") == "blk.7.ffn_gate.weight");
    CHECK(canonical_tensor_name("model.layers.7.mlp.up_proj.weight") == "blk.7.ffn_up.weight");
    CHECK(canonical_tensor_name("model.layers.7.mlp.down_proj.weight") == "blk.7.ffn_down.weight");
    // Unknown names are kept.
    CHECK(canonical_tensor_name("model.layers.7.mlp.experts.0.weight") == "model.layers.7.mlp.experts.0.weight");
    CHECK(canonical_tensor_name("model.layers.x.mlp.up_proj.weight") == "model.layers.x.mlp.up_proj.weight");
    CHECK(canonical_tensor_name("vision.patch_embed") == "vision.patch_embed");
}

TEST_CASE("a classic-layout Llama folder with one model.safetensors") {
    test::TempDir dir;
    test::write_file(dir / "config.json", kClassicConfig);
    test::write_file(dir / "model.safetensors", safetensors_bytes(llama_entries(2, true)));
    const auto file = open_model_file(dir.path());
    const auto& c = file->config();
    CHECK(c.architecture == "llama");
    CHECK(c.hidden_size == 64);
    CHECK(c.num_layers == 2);
    CHECK(c.num_heads == 4);
    CHECK(c.num_kv_heads == 2);
    CHECK(c.head_dim == 16);
    CHECK(c.intermediate_size == 128);
    CHECK(c.vocab_size == 32);
    CHECK(c.context_length == 256);
    CHECK(c.rope_theta == 500000.0);
    CHECK(c.rms_norm_eps == 1e-5);
    CHECK(c.torch_dtype == "float32");
    CHECK_FALSE(c.tied_embeddings);
    CHECK_FALSE(c.attention_bias);
    CHECK(c.bos_token_id == 1);
    CHECK(c.eos_token_ids == std::vector<int32_t>{2, 3});
    CHECK(file->tensors().size() == 3 + 2 * 9);
    const auto& head = file->tensor("output.weight");
    CHECK(head.dtype == DType::F16);
    CHECK(head.shape == std::vector<int64_t>{32, 64});
    CHECK(head.source_name == "lm_head.weight");
    CHECK(static_cast<int>(head.data[0]) == 3);  // third tensor in the file
    CHECK(static_cast<int>(head.data[head.nbytes - 1]) == 3);
    CHECK(file->tensor("blk.1.ffn_down.weight").shape == std::vector<int64_t>{64, 128});
}

TEST_CASE("the newer config.json layout: rope_parameters, dtype, layer_types") {
    test::TempDir dir;
    test::write_file(dir / "config.json", R"({
      "model_type": "qwen2", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
      "num_key_value_heads": 1, "head_dim": 32, "intermediate_size": 96, "vocab_size": 40,
      "max_position_embeddings": 512, "rms_norm_eps": 1e-6, "dtype": "bfloat16",
      "rope_parameters": {"rope_theta": 1000000.0, "rope_type": "default"},
      "layer_types": ["full_attention", "full_attention"], "tie_word_embeddings": true,
      "bos_token_id": null, "eos_token_id": 7
    })");
    test::write_file(dir / "generation_config.json", R"({"eos_token_id": [7, 5], "pad_token_id": 5})");
    const auto file = open_model_file(dir.path());  // no weights: a config-only folder
    const auto& c = file->config();
    CHECK(c.architecture == "qwen2");
    CHECK(c.head_dim == 32);  // explicit, not hidden / heads
    CHECK(c.num_kv_heads == 1);
    CHECK(c.rope_theta == 1e6);
    CHECK(c.rope_type == "default");
    CHECK(c.torch_dtype == "bfloat16");
    CHECK(c.layer_types == std::vector<std::string>{"full_attention", "full_attention"});
    CHECK(c.tied_embeddings);
    CHECK(c.attention_bias);  // Qwen2
    CHECK_FALSE(c.bos_token_id.has_value());
    CHECK(c.eos_token_ids == std::vector<int32_t>{7, 5});
    CHECK(c.pad_token_id == 5);
    CHECK(file->tensors().empty());

    test::write_file(dir / "config.json", R"({"model_type": "qwen2", "num_hidden_layers": 2,
      "layer_types": ["full_attention"]})");
    CHECK_THAT(open_error(dir.path()).what(), Catch::Contains("layer_types"));
    test::write_file(dir / "config.json", R"({"model_type": "qwen2", "hidden_size": "big"})");
    CHECK_THAT(open_error(dir.path()).what(), Catch::Contains("config.json: 'hidden_size' must be an integer"));
    test::write_file(dir / "config.json", R"({"hidden_size": 4})");
    CHECK_THAT(open_error(dir.path()).what(), Catch::Contains("no model_type"));
    test::write_file(dir / "config.json", R"({"model_type": "qwen2", )");
    CHECK_THAT(open_error(dir.path()).what(), Catch::Contains("not valid JSON"));
}

TEST_CASE("a sharded checkpoint: two shards and model.safetensors.index.json") {
    test::TempDir dir;
    test::write_file(dir / "config.json", kClassicConfig);
    auto entries = llama_entries(2, true);
    const std::vector<Entry> first(entries.begin(), entries.begin() + 12);
    const std::vector<Entry> second(entries.begin() + 12, entries.end());
    test::write_file(dir / "model-00001-of-00002.safetensors", safetensors_bytes(first));
    test::write_file(dir / "model-00002-of-00002.safetensors", safetensors_bytes(second));
    std::string index = R"({"metadata": {"total_size": 1}, "weight_map": {)";
    for (size_t i = 0; i < entries.size(); ++i) {
        if (i) index += ',';
        index += "\"" + entries[i].name + "\":\"model-0000" + (i < 12 ? "1" : "2") + "-of-00002.safetensors\"";
    }
    index += "}}";
    test::write_file(dir / "model.safetensors.index.json", index);

    const auto file = open_model_file(dir.path());
    CHECK(file->tensors().size() == entries.size());
    CHECK(file->config().num_layers == 2);
    CHECK_FALSE(file->config().tied_embeddings);
    CHECK(file->tensor("token_embd.weight").shape == std::vector<int64_t>{32, 64});
    // Data of the first tensor of the second shard is filled with byte 1.
    const auto& second_first = file->tensor(formats::canonical_tensor_name(second.front().name));
    CHECK(static_cast<int>(second_first.data[0]) == 1);
    CHECK(file->tensor("blk.1.ffn_down.weight").nbytes == 64 * 128 * 2);

    // The index file opened directly gives the same tensors.
    const auto direct = open_model_file(dir / "model.safetensors.index.json");
    CHECK(direct->tensors().size() == entries.size());

    SECTION("a tensor listed in the wrong shard") {
        std::string bad = index;
        const std::string from = "\"model.norm.weight\":\"model-00001";
        bad.replace(bad.find(from), from.size(), "\"model.norm.weight\":\"model-00002");
        test::write_file(dir / "model.safetensors.index.json", bad);
        CHECK_THAT(open_error(dir.path()).what(),
                   Catch::Contains("'model.norm.weight' is listed in shard 'model-00002-of-00002.safetensors'"));
    }
    SECTION("a shard name that leaves the folder") {
        std::string bad = index;
        bad.replace(bad.find("model-00002-of"), 5, "../x/");
        test::write_file(dir / "model.safetensors.index.json", bad);
        CHECK_THAT(open_error(dir.path()).what(), Catch::Contains("not a file name in the same folder"));
    }
    SECTION("a missing shard") {
        std::filesystem::remove(dir / "model-00002-of-00002.safetensors");
        const Error e = open_error(dir.path());
        CHECK(e.code() == ErrorCode::not_found);
        CHECK_THAT(e.what(), Catch::Contains("model-00002-of-00002.safetensors"));
    }
}

TEST_CASE("a lone SafeTensors file without config infers sizes from shapes") {
    test::TempDir dir;
    test::write_file(dir / "weights.safetensors", safetensors_bytes(llama_entries(3, false)));
    const auto file = open_model_file(dir / "weights.safetensors");
    CHECK(file->format() == FileFormat::safetensors);
    CHECK(file->config().hidden_size == 64);
    CHECK(file->config().vocab_size == 32);
    CHECK(file->config().num_layers == 3);
    CHECK(file->config().intermediate_size == 128);
    CHECK(file->config().tied_embeddings);
}

TEST_CASE("malformed SafeTensors files give errors naming file and tensor") {
    test::TempDir dir;
    const auto path = dir / "bad.safetensors";
    const auto check = [&](const std::string& bytes, ErrorCode code, const std::string& fragment) {
        test::write_file(path, bytes);
        const Error e = open_error(path);
        INFO(e.what());
        CHECK(e.code() == code);
        CHECK_THAT(e.what(), Catch::Contains("bad.safetensors") && Catch::Contains(fragment));
    };
    const std::vector<Entry> one = {{"w", "F32", {2, 3}, 4}};
    const std::string good = safetensors_bytes(one);
    check(good.substr(0, 5), ErrorCode::bad_format, "too short");
    check(good.substr(0, good.size() - 1), ErrorCode::bad_format, "tensor 'w': data_offsets [0, 24] run past the end");
    std::string huge = good;
    const uint64_t absurd = uint64_t{1} << 40;
    std::memcpy(huge.data(), &absurd, 8);
    check(huge, ErrorCode::bad_format, "header length 1099511627776");
    check(safetensors_bytes(one, R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}})"),
          ErrorCode::bad_format, "tensor 'w': data_offsets [0, 20] hold 20 bytes but F32 x shape needs 24");
    check(safetensors_bytes(one, R"({"w":{"dtype":"I64","shape":[3],"data_offsets":[0,24]}})"), ErrorCode::unsupported,
          "tensor 'w': dtype I64 is not supported");
    check(safetensors_bytes(one, R"({"w":{"dtype":"F32","shape":[-2,3],"data_offsets":[0,24]}})"),
          ErrorCode::bad_format, "tensor 'w': shape must hold non-negative integers");
    check(safetensors_bytes(one, R"({"w":{"dtype":"F32","shape":[6],"data_offsets":[8,0]}})"), ErrorCode::bad_format,
          "reversed");
    check(safetensors_bytes(one, R"({"w":{"dtype":"F32","shape":[6]}})"), ErrorCode::bad_format,
          "tensor 'w': data_offsets must be [begin, end]");
    check(safetensors_bytes(one, R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},)"
                                 R"("v":{"dtype":"F32","shape":[3],"data_offsets":[8,20]}})"),
          ErrorCode::bad_format, "overlaps tensor");
    check(safetensors_bytes(one, R"({"w": 5})"), ErrorCode::bad_format, "tensor 'w': header entry must be an object");
    check(safetensors_bytes(one, R"([1,2])"), ErrorCode::bad_format, "top level must be a JSON object");
    check(safetensors_bytes(one, "{\"w\xff\":1}"), ErrorCode::bad_format, "not valid JSON");
    check(safetensors_bytes(one, R"({"w":{"dtype":"F32","shape":[999999999999999,999999999],"data_offsets":[0,24]}})"),
          ErrorCode::bad_format, "tensor 'w'");
}

TEST_CASE("a config.json that declares untied embeddings needs lm_head.weight") {
    test::TempDir dir;
    test::write_file(dir / "config.json", kClassicConfig);
    test::write_file(dir / "model.safetensors", safetensors_bytes(llama_entries(1, false)));
    CHECK_THAT(open_error(dir.path()).what(), Catch::Contains("tie_word_embeddings is false"));
}

TEST_CASE("several safetensors files without an index are refused") {
    test::TempDir dir;
    test::write_file(dir / "config.json", kClassicConfig);
    test::write_file(dir / "a.safetensors", safetensors_bytes({{"x", "F32", {1}, 4}}));
    test::write_file(dir / "b.safetensors", safetensors_bytes({{"y", "F32", {1}, 4}}));
    CHECK_THAT(open_error(dir.path()).what(), Catch::Contains("no model.safetensors.index.json"));
}
