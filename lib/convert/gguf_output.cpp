#include "convert/gguf_output.hpp"

#include <charconv>
#include <climits>

namespace apr::convert {
namespace {

using namespace formats;

int block_of(const std::string& name) {
    if (name.starts_with("token_embd")) return -1;
    if (!name.starts_with("blk.")) return INT_MAX;
    int n = 0;
    const auto [p, ec] = std::from_chars(name.data() + 4, name.data() + name.size(), n);
    return ec == std::errc() ? n : INT_MAX;
}

}  // namespace

void set_config_keys(GgufWriter& w, const AprMetadata& md);
void set_tokenizer_keys(GgufWriter& w, const AprMetadata& md);

bool gguf_tensor_order(const std::string& a, const std::string& b) {
    const int x = block_of(a), y = block_of(b);
    return x != y ? x < y : a < b;
}

void set_gguf_metadata(GgufWriter& w, const AprMetadata& md) {
    w.set("general.architecture", meta_string_value(md.config.architecture));
    // A GGUF source's own keys describe the model completely: write exactly
    // them (and the tokenizer's), so the round trip adds nothing.
    const bool from_gguf = md.source_metadata.count("general.architecture") > 0;
    if (!from_gguf) set_config_keys(w, md);
    set_tokenizer_keys(w, md);
    for (const auto& [key, value] : md.source_metadata) w.set(key, value);
}

void set_config_keys(GgufWriter& w, const AprMetadata& md) {
    const ModelConfig& c = md.config;
    const std::string& a = c.architecture;
    w.set("general.name", meta_string_value(md.provenance.source.empty() ? a : md.provenance.source));
    auto u32 = [&](const std::string& key, int64_t v) {
        if (v > 0) w.set(a + "." + key, meta_u32(static_cast<uint32_t>(v)));
    };
    u32("context_length", c.context_length);
    u32("embedding_length", c.hidden_size);
    u32("block_count", c.num_layers);
    u32("feed_forward_length", c.intermediate_size);
    u32("attention.head_count", c.num_heads);
    u32("attention.head_count_kv", c.num_kv_heads);
    if (c.num_heads > 0 && c.head_dim != c.hidden_size / c.num_heads) {
        u32("attention.key_length", c.head_dim);
        u32("attention.value_length", c.head_dim);
    }
    w.set(a + ".rope.freq_base", meta_f32(static_cast<float>(c.rope_theta)));
    w.set(a + ".attention.layer_norm_rms_epsilon", meta_f32(static_cast<float>(c.rms_norm_eps)));
    u32("vocab_size", c.vocab_size);
}

void set_tokenizer_keys(GgufWriter& w, const AprMetadata& md) {
    if (md.tokenizer) {
        Metadata keys;
        put_tokenizer_keys(keys, *md.tokenizer);
        // llama.cpp's key order: model, pre, tokens, token_type, merges, ids.
        for (const char* key : {"tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.tokens",
                                "tokenizer.ggml.token_type", "tokenizer.ggml.merges", "tokenizer.ggml.bos_token_id",
                                "tokenizer.ggml.eos_token_id", "tokenizer.ggml.padding_token_id",
                                "tokenizer.ggml.add_bos_token"})
            if (auto it = keys.find(key); it != keys.end()) w.set(key, it->second);
    }
    if (md.chat_template) w.set("tokenizer.chat_template", meta_string_value(*md.chat_template));
}

}  // namespace apr::convert
