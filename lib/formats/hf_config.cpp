#include "formats/hf_config.hpp"

#include <algorithm>
#include <cstdlib>
#include <string>

#include "core/fail.hpp"
#include "formats/json_file.hpp"

namespace apr::formats {
namespace {

constexpr int64_t kMaxHyperparameter = int64_t{1} << 31;

int64_t checked_size(std::optional<int64_t> value, std::string_view key, std::string_view file) {
    if (!value) return 0;
    if (*value < 0 || *value >= kMaxHyperparameter)
        fail(ErrorCode::bad_format, "{}: '{}' = {} is out of range", file, key, *value);
    return *value;
}

int32_t token_id(simdjson::dom::element element, std::string_view key, std::string_view file) {
    int64_t id;
    if (element.get_int64().get(id) != simdjson::SUCCESS || id < 0 || id >= kMaxHyperparameter)
        fail(ErrorCode::bad_format, "{}: '{}' must hold non-negative token ids", file, key);
    return static_cast<int32_t>(id);
}

// bos/pad: one id. eos: one id or a list of ids.
void read_token_ids(simdjson::dom::object root, ModelConfig& config, std::string_view file) {
    simdjson::dom::element element;
    if (root.at_key("bos_token_id").get(element) == simdjson::SUCCESS && !element.is_null())
        config.bos_token_id = token_id(element, "bos_token_id", file);
    if (root.at_key("pad_token_id").get(element) == simdjson::SUCCESS && !element.is_null())
        config.pad_token_id = token_id(element, "pad_token_id", file);
    if (root.at_key("eos_token_id").get(element) == simdjson::SUCCESS && !element.is_null()) {
        config.eos_token_ids.clear();
        simdjson::dom::array ids;
        if (element.get_array().get(ids) == simdjson::SUCCESS) {
            for (simdjson::dom::element id : ids) {
                const int32_t value = token_id(id, "eos_token_id", file);
                if (std::find(config.eos_token_ids.begin(), config.eos_token_ids.end(), value) ==
                    config.eos_token_ids.end())
                    config.eos_token_ids.push_back(value);
            }
        } else {
            config.eos_token_ids.push_back(token_id(element, "eos_token_id", file));
        }
    }
}

HfConfig config_from_root(simdjson::dom::object root, std::string_view file) {
    HfConfig out;
    ModelConfig& c = out.config;
    const auto model_type = json_string(root, "model_type", file);
    if (!model_type) fail(ErrorCode::bad_format, "{}: no model_type", file);
    c.architecture = *model_type;
    c.hidden_size = checked_size(json_int(root, "hidden_size", file), "hidden_size", file);
    c.num_layers = checked_size(json_int(root, "num_hidden_layers", file), "num_hidden_layers", file);
    c.num_heads = checked_size(json_int(root, "num_attention_heads", file), "num_attention_heads", file);
    const auto kv_heads = json_int(root, "num_key_value_heads", file);
    c.num_kv_heads = kv_heads ? checked_size(kv_heads, "num_key_value_heads", file) : c.num_heads;
    if (const auto head_dim = json_int(root, "head_dim", file))
        c.head_dim = checked_size(head_dim, "head_dim", file);
    else if (c.num_heads > 0 && c.hidden_size % c.num_heads == 0)
        c.head_dim = c.hidden_size / c.num_heads;
    c.intermediate_size = checked_size(json_int(root, "intermediate_size", file), "intermediate_size", file);
    c.vocab_size = checked_size(json_int(root, "vocab_size", file), "vocab_size", file);
    c.context_length = checked_size(json_int(root, "max_position_embeddings", file), "max_position_embeddings", file);
    c.rms_norm_eps = json_number(root, "rms_norm_eps", file).value_or(c.rms_norm_eps);

    // Newer layout first: rope_parameters {rope_theta, rope_type}; then the
    // classic top-level rope_theta and rope_scaling {rope_type | type}.
    if (const auto rope = json_object(root, "rope_parameters", file)) {
        const std::string where = std::string(file) + ": rope_parameters";
        if (auto theta = json_number(*rope, "rope_theta", where)) c.rope_theta = *theta;
        c.rope_type = json_string(*rope, "rope_type", where).value_or("");
    }
    if (auto theta = json_number(root, "rope_theta", file)) c.rope_theta = *theta;
    if (c.rope_type.empty()) {
        if (const auto scaling = json_object(root, "rope_scaling", file)) {
            const std::string where = std::string(file) + ": rope_scaling";
            c.rope_type = json_string(*scaling, "rope_type", where).value_or(json_string(*scaling, "type", where).value_or(""));
        }
    }
    if (c.rope_type.empty()) c.rope_type = "default";
    if (!(c.rope_theta > 0)) fail(ErrorCode::bad_format, "{}: rope_theta must be positive", file);
    if (!(c.rms_norm_eps > 0)) fail(ErrorCode::bad_format, "{}: rms_norm_eps must be positive", file);

    c.torch_dtype = json_string(root, "dtype", file).value_or(json_string(root, "torch_dtype", file).value_or(""));
    if (const auto layer_types = json_array(root, "layer_types", file)) {
        for (simdjson::dom::element kind : *layer_types) {
            std::string_view text;
            if (kind.get_string().get(text) != simdjson::SUCCESS)
                fail(ErrorCode::bad_format, "{}: 'layer_types' must hold strings", file);
            c.layer_types.emplace_back(text);
        }
        if (c.num_layers > 0 && static_cast<int64_t>(c.layer_types.size()) != c.num_layers)
            fail(ErrorCode::bad_format, "{}: 'layer_types' lists {} layers but num_hidden_layers is {}", file,
                 c.layer_types.size(), c.num_layers);
    }
    out.tie_word_embeddings = json_bool(root, "tie_word_embeddings", file);
    out.attention_bias = json_bool(root, "attention_bias", file);
    c.tied_embeddings = out.tie_word_embeddings.value_or(false);
    // Qwen2 always has q/k/v biases; Llama declares them with attention_bias.
    c.attention_bias = out.attention_bias.value_or(c.architecture == "qwen2");
    read_token_ids(root, c, file);
    return out;
}

}  // namespace

HfConfig parse_hf_config(std::string_view json, std::string_view file) {
    const JsonDocument doc = JsonDocument::parse(json, std::string(file));
    return config_from_root(doc.root_object(), file);
}

void apply_generation_config(ModelConfig& config, std::string_view json, std::string_view file) {
    const JsonDocument doc = JsonDocument::parse(json, std::string(file));
    read_token_ids(doc.root_object(), config, file);
}

HfConfig read_hf_config(const std::filesystem::path& folder) {
    const auto config_path = folder / "config.json";
    const JsonDocument config_doc = JsonDocument::load(config_path);
    HfConfig out = config_from_root(config_doc.root_object(), config_path.string());
    const auto generation_path = folder / "generation_config.json";
    std::error_code ec;
    if (std::filesystem::exists(generation_path, ec)) {
        const JsonDocument generation = JsonDocument::load(generation_path);
        read_token_ids(generation.root_object(), out.config, generation_path.string());
    }
    return out;
}

void apply_tensor_facts(HfConfig& hf, const ModelFile& file) {
    ModelConfig& c = hf.config;
    if (file.tensors().empty()) return;
    const TensorView* embedding = file.find_tensor("token_embd.weight");
    if (embedding && embedding->shape.size() == 2) {
        c.vocab_size = embedding->shape[0];
        if (c.hidden_size == 0) c.hidden_size = embedding->shape[1];
    }
    const bool has_output = file.find_tensor("output.weight") != nullptr;
    if (embedding && !has_output) {
        if (hf.tie_word_embeddings == false)
            fail(ErrorCode::bad_format, "{}: config.json says tie_word_embeddings is false but there is no lm_head.weight",
                 file.path().string());
        c.tied_embeddings = true;
    } else if (!hf.tie_word_embeddings) {
        c.tied_embeddings = false;
    }
    c.attention_bias = file.find_tensor("blk.0.attn_q.bias") != nullptr;
    if (c.num_layers == 0) {
        int64_t layers = 0;
        for (const auto& t : file.tensors()) {
            if (!t.name.starts_with("blk.")) continue;
            const int64_t index = std::atoll(t.name.c_str() + 4);
            layers = std::max(layers, index + 1);
        }
        c.num_layers = layers;
    }
    if (c.intermediate_size == 0)
        if (const TensorView* up = file.find_tensor("blk.0.ffn_up.weight"); up && up->shape.size() == 2)
            c.intermediate_size = up->shape[0];
}

}  // namespace apr::formats
