#include "formats/tensor_names.hpp"

#include <array>
#include <utility>

namespace apr::formats {
namespace {

constexpr std::array<std::pair<std::string_view, std::string_view>, 3> kGlobal = {{
    {"model.embed_tokens.weight", "token_embd.weight"},
    {"model.norm.weight", "output_norm.weight"},
    {"lm_head.weight", "output.weight"},
}};

// Suffixes after "model.layers.N." and their canonical suffix after "blk.N.".
constexpr std::array<std::pair<std::string_view, std::string_view>, 13> kPerLayer = {{
    {"input_layernorm.weight", "attn_norm.weight"},
    {"self_attn.q_proj.weight", "attn_q.weight"},
    {"self_attn.q_proj.bias", "attn_q.bias"},
    {"self_attn.k_proj.weight", "attn_k.weight"},
    {"self_attn.k_proj.bias", "attn_k.bias"},
    {"self_attn.v_proj.weight", "attn_v.weight"},
    {"self_attn.v_proj.bias", "attn_v.bias"},
    {"self_attn.o_proj.weight", "attn_output.weight"},
    {"self_attn.o_proj.bias", "attn_output.bias"},
    {"post_attention_layernorm.weight", "ffn_norm.weight"},
    {"mlp.gate_proj.weight", "ffn_gate.weight"},
    {"mlp.up_proj.weight", "ffn_up.weight"},
    {"mlp.down_proj.weight", "ffn_down.weight"},
}};

}  // namespace

std::string canonical_tensor_name(std::string_view name) {
    for (const auto& [hf, canonical] : kGlobal)
        if (name == hf) return std::string(canonical);
    constexpr std::string_view kLayers = "model.layers.";
    if (!name.starts_with(kLayers)) return std::string(name);
    const std::string_view rest = name.substr(kLayers.size());
    size_t digits = 0;
    while (digits < rest.size() && digits < 9 && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
    if (digits == 0 || digits >= rest.size() || rest[digits] != '.') return std::string(name);
    if (digits > 1 && rest[0] == '0') return std::string(name);  // "01" is not a layer index we produce
    const std::string_view index = rest.substr(0, digits);
    const std::string_view suffix = rest.substr(digits + 1);
    for (const auto& [hf, canonical] : kPerLayer)
        if (suffix == hf) return "blk." + std::string(index) + "." + std::string(canonical);
    return std::string(name);
}

std::string hf_tensor_name(std::string_view name) {
    for (const auto& [hf, canonical] : kGlobal)
        if (name == canonical) return std::string(hf);
    constexpr std::string_view kBlk = "blk.";
    if (!name.starts_with(kBlk)) return std::string(name);
    const std::string_view rest = name.substr(kBlk.size());
    size_t digits = 0;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
    if (digits == 0 || digits >= rest.size() || rest[digits] != '.') return std::string(name);
    const std::string_view suffix = rest.substr(digits + 1);
    for (const auto& [hf, canonical] : kPerLayer)
        if (suffix == canonical) return "model.layers." + std::string(rest.substr(0, digits)) + "." + std::string(hf);
    return std::string(name);
}

}  // namespace apr::formats
