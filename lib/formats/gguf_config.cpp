#include "formats/gguf_config.hpp"

#include <algorithm>
#include <cstdlib>
#include <string>

#include "core/fail.hpp"

namespace apr::formats {
namespace {

constexpr int64_t kMaxHyperparameter = int64_t{1} << 31;

class MetaReader {
public:
    MetaReader(const Metadata& metadata, std::string_view file) : metadata_(metadata), file_(file) {}

    const MetaValue* find(const std::string& key) const {
        const auto it = metadata_.find(key);
        return it == metadata_.end() ? nullptr : &it->second;
    }

    // A non-negative integer below 2^31 (every size, count and token id).
    std::optional<int64_t> count(const std::string& key) const {
        const MetaValue* value = find(key);
        if (!value) return std::nullopt;
        const auto number = meta_int(*value);
        if (!number || value->type == static_cast<uint32_t>(MetaType::boolean))
            fail(ErrorCode::bad_format, "{}: metadata '{}' must be an integer", file_, key);
        if (*number < 0 || *number >= kMaxHyperparameter)
            fail(ErrorCode::bad_format, "{}: metadata '{}' = {} is out of range", file_, key, *number);
        return number;
    }

    std::optional<double> real(const std::string& key) const {
        const MetaValue* value = find(key);
        if (!value) return std::nullopt;
        const auto number = meta_float(*value);
        if (!number || value->type == static_cast<uint32_t>(MetaType::boolean))
            fail(ErrorCode::bad_format, "{}: metadata '{}' must be a number", file_, key);
        if (value->type == static_cast<uint32_t>(MetaType::float32)) {
            // A float32 such as 1e-6 reads back as 9.99999997e-07; take the
            // shortest decimal that round-trips the float so GGUF and
            // config.json give the same double.
            return std::strtod(fmt::format("{}", static_cast<float>(*number)).c_str(), nullptr);
        }
        return number;
    }

    std::optional<std::string> text(const std::string& key) const {
        const MetaValue* value = find(key);
        if (!value) return std::nullopt;
        const std::string* s = meta_string(*value);
        if (!s) fail(ErrorCode::bad_format, "{}: metadata '{}' must be a string", file_, key);
        return *s;
    }

    // Length of an array value (tokenizer.ggml.tokens).
    std::optional<int64_t> array_length(const std::string& key) const {
        const MetaValue* value = find(key);
        if (!value) return std::nullopt;
        const MetaArray* array = meta_array(*value);
        if (!array) fail(ErrorCode::bad_format, "{}: metadata '{}' must be an array", file_, key);
        return static_cast<int64_t>(array->size());
    }

private:
    const Metadata& metadata_;
    std::string_view file_;
};

const TensorView* find_tensor(const std::vector<TensorView>& tensors, std::string_view name) {
    for (const auto& t : tensors)
        if (t.name == name) return &t;
    return nullptr;
}

int32_t as_token_id(int64_t value) { return static_cast<int32_t>(value); }  // count() bounds it below 2^31

}  // namespace

ModelConfig config_from_gguf(const Metadata& metadata, const std::vector<TensorView>& tensors, std::string_view file) {
    const MetaReader meta(metadata, file);
    ModelConfig config;
    config.architecture = meta.text("general.architecture").value_or("");
    const std::string a = config.architecture + ".";

    config.hidden_size = meta.count(a + "embedding_length").value_or(0);
    config.num_layers = meta.count(a + "block_count").value_or(0);
    config.num_heads = meta.count(a + "attention.head_count").value_or(0);
    config.num_kv_heads = meta.count(a + "attention.head_count_kv").value_or(config.num_heads);
    if (auto key_length = meta.count(a + "attention.key_length"))
        config.head_dim = *key_length;
    else if (config.num_heads > 0 && config.hidden_size % config.num_heads == 0)
        config.head_dim = config.hidden_size / config.num_heads;
    config.intermediate_size = meta.count(a + "feed_forward_length").value_or(0);
    config.rope_theta = meta.real(a + "rope.freq_base").value_or(config.rope_theta);
    config.rms_norm_eps = meta.real(a + "attention.layer_norm_rms_epsilon").value_or(config.rms_norm_eps);
    config.context_length = meta.count(a + "context_length").value_or(0);

    const TensorView* embedding = find_tensor(tensors, "token_embd.weight");
    if (embedding && !embedding->shape.empty())
        config.vocab_size = embedding->shape.front();
    else if (auto n = meta.count(a + "vocab_size"))
        config.vocab_size = *n;
    else
        config.vocab_size = meta.array_length("tokenizer.ggml.tokens").value_or(0);
    config.tied_embeddings = embedding && !find_tensor(tensors, "output.weight");
    // Without tensors (a vocabulary-only file) fall back on what the
    // architecture always has, as the Hugging Face reader does.
    config.attention_bias = tensors.empty() ? config.architecture == "qwen2"
                                            : find_tensor(tensors, "blk.0.attn_q.bias") != nullptr;

    if (auto id = meta.count("tokenizer.ggml.bos_token_id")) config.bos_token_id = as_token_id(*id);
    if (auto id = meta.count("tokenizer.ggml.padding_token_id")) config.pad_token_id = as_token_id(*id);
    if (auto id = meta.count("tokenizer.ggml.eos_token_id")) config.eos_token_ids.push_back(as_token_id(*id));
    if (auto id = meta.count("tokenizer.ggml.eot_token_id")) {
        if (std::find(config.eos_token_ids.begin(), config.eos_token_ids.end(), *id) == config.eos_token_ids.end())
            config.eos_token_ids.push_back(as_token_id(*id));
    }
    return config;
}

TokenizerSummary tokenizer_summary_from_gguf(const Metadata& metadata, std::string_view file) {
    const MetaReader meta(metadata, file);
    TokenizerSummary summary;
    summary.model = meta.text("tokenizer.ggml.model").value_or("");
    summary.pre_tokenizer = meta.text("tokenizer.ggml.pre").value_or("");
    summary.vocab_size = meta.array_length("tokenizer.ggml.tokens").value_or(0);
    // Roles in llama.cpp's order first, then any other *_token_id key.
    static constexpr std::string_view kPrefix = "tokenizer.ggml.";
    static constexpr std::string_view kSuffix = "_token_id";
    for (const auto& [key, value] : metadata) {
        const std::string_view k = key;
        if (k.size() <= kPrefix.size() + kSuffix.size() || !k.starts_with(kPrefix) || !k.ends_with(kSuffix)) continue;
        std::string role(k.substr(kPrefix.size(), k.size() - kPrefix.size() - kSuffix.size()));
        if (role == "padding") role = "pad";
        if (role.find('.') != std::string::npos) continue;
        summary.special_tokens.emplace_back(std::move(role), as_token_id(*meta.count(key)));
    }
    static constexpr std::string_view kOrder[] = {"bos", "eos", "eot", "eom", "pad", "unk", "sep", "cls", "mask"};
    const auto rank = [](const std::string& role) {
        const auto* it = std::find(std::begin(kOrder), std::end(kOrder), role);
        return static_cast<size_t>(it - std::begin(kOrder));
    };
    std::stable_sort(summary.special_tokens.begin(), summary.special_tokens.end(),
                     [&](const auto& x, const auto& y) { return rank(x.first) < rank(y.first); });
    summary.has_chat_template = meta.find("tokenizer.chat_template") != nullptr;
    return summary;
}

}  // namespace apr::formats
