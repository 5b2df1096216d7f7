// Which type each tensor gets under a quantization recipe, following
// llama.cpp's rules (llama_tensor_get_type) for the recipes libapr has
// quantizers for. For Q4_K_M: Q4_K by default; Q6_K for output.weight (and
// for token_embd.weight when the embeddings are tied, since it is then the
// output too), for attn_v.weight and ffn_down.weight of the layers
// use_more_bits picks (the first and last eighth of the layers and every
// third layer between them); Q5_K for fused attn_qkv. A type whose block
// does not divide the row length falls back as llama.cpp does (Q4_K -> Q5_0,
// Q5_K -> Q5_1, Q6_K -> Q8_0, then F16). 1-D tensors (norms, biases) stay F32.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "apr/dtype.hpp"
#include "apr/tensor.hpp"

namespace apr::convert {

enum class Recipe { q4_k_m, q4_k_s, q5_k_m, q5_k_s, q6_k, q8_0, q4_0, q4_1, q5_0, q5_1, f16, bf16, f32 };

std::optional<Recipe> recipe_from_name(std::string_view name);  // "q4_k_m", case-insensitive
std::vector<std::string_view> recipe_names();

// llama.cpp's llama_ftype number of a recipe (general.file_type in GGUF).
uint32_t recipe_file_type(Recipe recipe);

// llama.cpp's use_more_bits(i_layer, n_layers).
bool use_more_bits(int64_t layer, int64_t layers);

struct RecipeContext {
    bool has_output = false;    // the model has its own output.weight (untied)
    int64_t attn_v_count = 0;   // how many attn_v.weight tensors
    int64_t ffn_down_count = 0; // how many ffn_down.weight tensors
};

RecipeContext recipe_context(const std::vector<TensorView>& tensors);

// The output type of one tensor.
DType recipe_type(Recipe recipe, const TensorView& tensor, const RecipeContext& context);

}  // namespace apr::convert
