#include "convert/quant_recipe.hpp"

#include <array>
#include <cctype>
#include <charconv>

namespace apr::convert {
namespace {

struct Named {
    std::string_view name;
    Recipe recipe;
    DType base;
};

constexpr std::array<Named, 13> kRecipes = {{
    {"q4_k_m", Recipe::q4_k_m, DType::Q4_K}, {"q4_k_s", Recipe::q4_k_s, DType::Q4_K},
    {"q5_k_m", Recipe::q5_k_m, DType::Q5_K}, {"q5_k_s", Recipe::q5_k_s, DType::Q5_K},
    {"q6_k", Recipe::q6_k, DType::Q6_K},     {"q8_0", Recipe::q8_0, DType::Q8_0},
    {"q4_0", Recipe::q4_0, DType::Q4_0},     {"q4_1", Recipe::q4_1, DType::Q4_1},
    {"q5_0", Recipe::q5_0, DType::Q5_0},     {"q5_1", Recipe::q5_1, DType::Q5_1},
    {"f16", Recipe::f16, DType::F16},        {"bf16", Recipe::bf16, DType::BF16},
    {"f32", Recipe::f32, DType::F32},
}};

DType base_type(Recipe r) {
    for (const auto& n : kRecipes)
        if (n.recipe == r) return n.base;
    return DType::F32;
}

// The layer index of "blk.N.<...>", or -1.
int64_t layer_of(const std::string& name) {
    if (!name.starts_with("blk.")) return -1;
    int64_t n = -1;
    const auto [p, ec] = std::from_chars(name.data() + 4, name.data() + name.size(), n);
    return ec == std::errc() ? n : -1;
}

bool fits(DType type, int64_t cols) { return cols % dtype_info(type)->block_elements == 0; }

// llama.cpp's fallback for a row length the type's block does not divide.
DType fallback(DType type, int64_t cols) {
    if (fits(type, cols)) return type;
    DType next = DType::F16;
    switch (type) {
        case DType::Q2_K:
        case DType::Q3_K: next = DType::Q4_0; break;
        case DType::Q4_K: next = DType::Q5_0; break;
        case DType::Q5_K: next = DType::Q5_1; break;
        case DType::Q6_K: next = DType::Q8_0; break;
        default: break;
    }
    return fits(next, cols) ? next : DType::F16;
}

}  // namespace

std::optional<Recipe> recipe_from_name(std::string_view name) {
    std::string lower(name);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (const auto& n : kRecipes)
        if (n.name == lower) return n.recipe;
    return std::nullopt;
}

std::vector<std::string_view> recipe_names() {
    std::vector<std::string_view> out;
    for (const auto& n : kRecipes) out.push_back(n.name);
    return out;
}

uint32_t recipe_file_type(Recipe r) {
    switch (r) {
        case Recipe::f32: return 0;
        case Recipe::f16: return 1;
        case Recipe::q4_0: return 2;
        case Recipe::q4_1: return 3;
        case Recipe::q8_0: return 7;
        case Recipe::q5_0: return 8;
        case Recipe::q5_1: return 9;
        case Recipe::q4_k_s: return 14;
        case Recipe::q4_k_m: return 15;
        case Recipe::q5_k_s: return 16;
        case Recipe::q5_k_m: return 17;
        case Recipe::q6_k: return 18;
        case Recipe::bf16: return 32;
    }
    return 0;
}

bool use_more_bits(int64_t i, int64_t n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

RecipeContext recipe_context(const std::vector<TensorView>& tensors) {
    RecipeContext c;
    for (const TensorView& t : tensors) {
        if (t.name == "output.weight") c.has_output = true;
        if (t.name.ends_with(".attn_v.weight")) ++c.attn_v_count;
        if (t.name.ends_with(".ffn_down.weight")) ++c.ffn_down_count;
    }
    return c;
}

DType recipe_type(Recipe recipe, const TensorView& t, const RecipeContext& ctx) {
    // Only matrices named "*weight" are quantized; norms and biases stay F32.
    if (t.shape.size() < 2 || !t.name.ends_with("weight")) return DType::F32;
    const DType base = base_type(recipe);
    if (recipe == Recipe::f16 || recipe == Recipe::bf16 || recipe == Recipe::f32) return base;
    const int64_t cols = t.cols();
    DType type = base;
    const int64_t layer = layer_of(t.name);
    if (t.name == "output.weight" || (!ctx.has_output && t.name == "token_embd.weight")) {
        if (!fits(base, cols)) type = DType::Q8_0;
        else if (base != DType::Q8_0) type = DType::Q6_K;
    } else if (t.name.ends_with(".attn_v.weight")) {
        if ((recipe == Recipe::q4_k_m || recipe == Recipe::q5_k_m) && use_more_bits(layer, ctx.attn_v_count))
            type = DType::Q6_K;
        else if (recipe == Recipe::q4_k_s && layer < 4)
            type = DType::Q5_K;
    } else if (t.name.ends_with(".ffn_down.weight")) {
        if ((recipe == Recipe::q4_k_m || recipe == Recipe::q5_k_m) && use_more_bits(layer, ctx.ffn_down_count))
            type = DType::Q6_K;
        else if (recipe == Recipe::q4_k_s && layer < ctx.ffn_down_count / 8)
            type = DType::Q5_K;
    } else if (t.name.ends_with(".attn_qkv.weight")) {
        if (recipe == Recipe::q4_k_m) type = DType::Q5_K;
        else if (recipe == Recipe::q5_k_m) type = DType::Q6_K;
    }
    return fallback(type, cols);
}

}  // namespace apr::convert
