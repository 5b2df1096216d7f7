// The quantization recipes' type choices, tensor by tensor, against
// llama.cpp's rules (llama_tensor_get_type).
#include <catch2/catch.hpp>

#include "convert/quant_recipe.hpp"

using namespace apr;
using namespace apr::convert;

namespace {

TensorView matrix(const std::string& name, int64_t rows, int64_t cols) {
    TensorView t;
    t.name = name;
    t.shape = {rows, cols};
    return t;
}

}  // namespace

TEST_CASE("use_more_bits: llama.cpp's layer choice") {
    // 4 layers: layers 2 (every third after the first eighth) and 3 (the last eighth).
    std::vector<int> picked;
    for (int i = 0; i < 4; ++i)
        if (use_more_bits(i, 4)) picked.push_back(i);
    CHECK(picked == std::vector<int>{2, 3});
    // 28 layers (Qwen2.5-1.5B): first 3, last 4 (from 24), and 5, 8, ..., 23.
    picked.clear();
    for (int i = 0; i < 28; ++i)
        if (use_more_bits(i, 28)) picked.push_back(i);
    CHECK(picked == std::vector<int>{0, 1, 2, 5, 8, 11, 14, 17, 20, 23, 24, 25, 26, 27});
}

TEST_CASE("Q4_K_M: Q6_K for output, tied embeddings, attn_v and ffn_down of the chosen layers") {
    std::vector<TensorView> tied = {matrix("token_embd.weight", 2048, 512), matrix("blk.0.attn_v.weight", 256, 512),
                                    matrix("blk.1.attn_v.weight", 256, 512), matrix("blk.2.attn_v.weight", 256, 512),
                                    matrix("blk.3.attn_v.weight", 256, 512), matrix("blk.0.ffn_down.weight", 512, 1024),
                                    matrix("blk.1.ffn_down.weight", 512, 1024), matrix("blk.2.ffn_down.weight", 512, 1024),
                                    matrix("blk.3.ffn_down.weight", 512, 1024)};
    const RecipeContext ctx = recipe_context(tied);
    CHECK_FALSE(ctx.has_output);
    CHECK(recipe_type(Recipe::q4_k_m, tied[0], ctx) == DType::Q6_K);  // tied: the embedding is the output
    CHECK(recipe_type(Recipe::q4_k_m, tied[1], ctx) == DType::Q4_K);
    CHECK(recipe_type(Recipe::q4_k_m, tied[2], ctx) == DType::Q4_K);
    CHECK(recipe_type(Recipe::q4_k_m, tied[3], ctx) == DType::Q6_K);
    CHECK(recipe_type(Recipe::q4_k_m, tied[4], ctx) == DType::Q6_K);
    CHECK(recipe_type(Recipe::q4_k_m, tied[6], ctx) == DType::Q4_K);
    CHECK(recipe_type(Recipe::q4_k_m, tied[7], ctx) == DType::Q6_K);
    CHECK(recipe_type(Recipe::q4_k_m, matrix("blk.0.attn_q.weight", 512, 512), ctx) == DType::Q4_K);
    CHECK(recipe_type(Recipe::q4_k_m, matrix("blk.0.attn_qkv.weight", 1024, 512), ctx) == DType::Q5_K);

    std::vector<TensorView> untied = tied;
    untied.push_back(matrix("output.weight", 2048, 512));
    const RecipeContext u = recipe_context(untied);
    CHECK(recipe_type(Recipe::q4_k_m, untied[0], u) == DType::Q4_K);
    CHECK(recipe_type(Recipe::q4_k_m, untied.back(), u) == DType::Q6_K);
}

TEST_CASE("recipes: norms stay F32, fallbacks for rows the block does not divide, other recipes") {
    const RecipeContext ctx;
    TensorView norm;
    norm.name = "blk.0.attn_norm.weight";
    norm.shape = {512};
    CHECK(recipe_type(Recipe::q4_k_m, norm, ctx) == DType::F32);
    TensorView bias = matrix("blk.0.attn_q.bias", 1, 512);
    CHECK(recipe_type(Recipe::q4_k_m, bias, ctx) == DType::F32);
    CHECK(recipe_type(Recipe::q4_k_m, matrix("blk.0.ffn_up.weight", 64, 96), ctx) == DType::Q5_0);
    CHECK(recipe_type(Recipe::q4_k_m, matrix("blk.0.ffn_up.weight", 64, 100), ctx) == DType::F16);
    CHECK(recipe_type(Recipe::q4_k_m, matrix("output.weight", 64, 96), ctx) == DType::Q8_0);
    CHECK(recipe_type(Recipe::q8_0, matrix("output.weight", 64, 512), ctx) == DType::Q8_0);
    CHECK(recipe_type(Recipe::q4_0, matrix("output.weight", 64, 512), ctx) == DType::Q6_K);
    CHECK(recipe_type(Recipe::q4_0, matrix("blk.0.attn_v.weight", 64, 512), ctx) == DType::Q4_0);
    CHECK(recipe_type(Recipe::f16, matrix("blk.0.attn_v.weight", 64, 512), ctx) == DType::F16);
    CHECK(recipe_from_name("Q4_K_M") == Recipe::q4_k_m);
    CHECK_FALSE(recipe_from_name("q2_k"));
}
