// The tensor list of a Qwen2-shaped model with random weights, typed the way
// llama.cpp's llama-quantize types a real file, so a random model costs
// exactly what the real one costs to load and run (same shapes, same bytes,
// same kernels). Used by apr-make-random-model and its tests.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "apr/dtype.hpp"

namespace apr::tools {

// How the weights are stored, named like llama-quantize's types.
enum class RandomModelType { q4_k_m, q8_0, f16 };
std::optional<RandomModelType> random_model_type_from_name(std::string_view name);  // "q4_k_m", ...
std::string_view random_model_type_name(RandomModelType type);
// GGUF general.file_type (llama_ftype) of a whole file of this type.
uint32_t random_model_file_type(RandomModelType type);

// Qwen2 hyperparameters. The defaults are Qwen2.5-Coder-1.5B-Instruct's.
struct Qwen2Shape {
    int64_t hidden = 1536;
    int64_t layers = 28;
    int64_t heads = 12;
    int64_t kv_heads = 2;
    int64_t intermediate = 8960;
    int64_t vocab = 151936;  // rows of token_embd: the tokenizer's 151,665 entries padded
    int64_t context = 32768;
    double rope_theta = 1e6;
    double rms_eps = 1e-6;
    // The official Qwen2.5-Coder-1.5B-Instruct GGUF files carry a separate
    // output.weight although the HF model ties it to the embedding: that is
    // what makes them 1.78 B parameters and 1.04 GiB at Q4_K_M (tied would be
    // 1.54 B and 0.91 GiB). True reproduces the official file.
    bool separate_output = true;

    int64_t head_dim() const { return hidden / heads; }
};

// How a tensor's random values are drawn.
enum class InitKind {
    weight,  // ~N(0, 0.02): the usual initializer range, keeps activations sane
    norm,    // ~1 + N(0, 0.02): RMSNorm gains
    bias,    // ~N(0, 0.02)
};

struct PlannedTensor {
    std::string name;            // GGUF name, e.g. "blk.0.attn_q.weight"
    std::vector<int64_t> shape;  // outermost first: {out_features, in_features}
    DType dtype = DType::F32;
    InitKind init = InitKind::weight;

    int64_t elements() const;
    int64_t cols() const { return shape.back(); }
    int64_t rows() const { return elements() / cols(); }
};

// Checks the shape (positive sizes, heads divide hidden, quantized rows
// a whole number of blocks) and throws apr::Error(invalid_argument) naming
// the offending field.
void validate_shape(const Qwen2Shape& shape, RandomModelType type);

// The tensors in file order: token_embd, each block's tensors, output_norm,
// output (when separate). Calls validate_shape first.
std::vector<PlannedTensor> plan_random_model(const Qwen2Shape& shape, RandomModelType type);

// llama.cpp's use_more_bits(): which of n layers Q4_K_M stores with more bits
// (Q6_K) in attn_v and ffn_down: the first and last eighth, and every third
// layer in between.
bool q4_k_m_uses_more_bits(int64_t layer, int64_t layers);

// Bytes of tensor data (without metadata or alignment padding).
uint64_t planned_data_bytes(const std::vector<PlannedTensor>& tensors);
uint64_t planned_elements(const std::vector<PlannedTensor>& tensors);

}  // namespace apr::tools
