#include "random_model_plan.hpp"

#include <fmt/format.h>

#include "core/fail.hpp"

namespace apr::tools {

std::optional<RandomModelType> random_model_type_from_name(std::string_view name) {
    if (name == "q4_k_m" || name == "Q4_K_M") return RandomModelType::q4_k_m;
    if (name == "q8_0" || name == "Q8_0") return RandomModelType::q8_0;
    if (name == "f16" || name == "F16") return RandomModelType::f16;
    return std::nullopt;
}

std::string_view random_model_type_name(RandomModelType type) {
    switch (type) {
        case RandomModelType::q4_k_m: return "q4_k_m";
        case RandomModelType::q8_0: return "q8_0";
        case RandomModelType::f16: return "f16";
    }
    return "?";
}

uint32_t random_model_file_type(RandomModelType type) {
    // llama_ftype values: LLAMA_FTYPE_MOSTLY_F16 = 1, _Q8_0 = 7, _Q4_K_M = 15.
    switch (type) {
        case RandomModelType::q4_k_m: return 15;
        case RandomModelType::q8_0: return 7;
        case RandomModelType::f16: return 1;
    }
    return 0;
}

int64_t PlannedTensor::elements() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}

bool q4_k_m_uses_more_bits(int64_t layer, int64_t layers) {
    return layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;
}

void validate_shape(const Qwen2Shape& s, RandomModelType type) {
    const std::pair<const char*, int64_t> sizes[] = {
        {"hidden", s.hidden},     {"layers", s.layers}, {"heads", s.heads},     {"kv_heads", s.kv_heads},
        {"intermediate", s.intermediate}, {"vocab", s.vocab}, {"context", s.context},
    };
    for (const auto& [field, value] : sizes) {
        // The upper bound keeps every tensor's element count far from overflow.
        if (value <= 0 || value > (int64_t{1} << 24))
            fail(ErrorCode::invalid_argument, "random model: {} = {} is out of range (1..{})", field, value,
                 int64_t{1} << 24);
    }
    if (s.hidden % s.heads != 0)
        fail(ErrorCode::invalid_argument, "random model: hidden {} is not a multiple of heads {}", s.hidden, s.heads);
    if (s.heads % s.kv_heads != 0)
        fail(ErrorCode::invalid_argument, "random model: heads {} is not a multiple of kv_heads {}", s.heads,
             s.kv_heads);
    // Every weight's rows run along hidden, except ffn_down's (intermediate).
    const int64_t block = type == RandomModelType::q4_k_m ? 256 : type == RandomModelType::q8_0 ? 32 : 1;
    for (const auto& [field, value] : {std::pair<const char*, int64_t>{"hidden", s.hidden},
                                       std::pair<const char*, int64_t>{"intermediate", s.intermediate}}) {
        if (value % block != 0)
            fail(ErrorCode::invalid_argument, "random model: {} = {} is not a multiple of the {} block size {}",
                 field, value, random_model_type_name(type), block);
    }
}

namespace {

// llama.cpp's choice for one 2-D weight (llama_tensor_get_type in
// src/llama-quant.cpp, Q4_K_M branch): Q4_K by default; output.weight (or the
// embedding when it doubles as the output) Q6_K; attn_v and ffn_down Q6_K in
// the use_more_bits() layers. F16 and Q8_0 files use one type throughout.
DType weight_type(RandomModelType type, std::string_view role, int64_t layer, int64_t layers, bool is_output) {
    switch (type) {
        case RandomModelType::f16: return DType::F16;
        case RandomModelType::q8_0: return DType::Q8_0;
        case RandomModelType::q4_k_m:
            if (is_output) return DType::Q6_K;
            if ((role == "attn_v" || role == "ffn_down") && q4_k_m_uses_more_bits(layer, layers)) return DType::Q6_K;
            return DType::Q4_K;
    }
    return DType::F32;
}

}  // namespace

std::vector<PlannedTensor> plan_random_model(const Qwen2Shape& s, RandomModelType type) {
    validate_shape(s, type);
    const int64_t kv_dim = s.kv_heads * s.head_dim();
    std::vector<PlannedTensor> out;
    out.push_back({"token_embd.weight", {s.vocab, s.hidden},
                   weight_type(type, "token_embd", 0, s.layers, /*is_output=*/!s.separate_output), InitKind::weight});
    for (int64_t i = 0; i < s.layers; ++i) {
        auto weight = [&](std::string_view role, int64_t rows, int64_t cols) {
            out.push_back({fmt::format("blk.{}.{}.weight", i, role), {rows, cols},
                           weight_type(type, role, i, s.layers, false), InitKind::weight});
        };
        auto vec = [&](std::string_view name, int64_t n, InitKind init) {
            out.push_back({fmt::format("blk.{}.{}", i, name), {n}, DType::F32, init});
        };
        vec("attn_norm.weight", s.hidden, InitKind::norm);
        weight("attn_q", s.hidden, s.hidden);
        vec("attn_q.bias", s.hidden, InitKind::bias);
        weight("attn_k", kv_dim, s.hidden);
        vec("attn_k.bias", kv_dim, InitKind::bias);
        weight("attn_v", kv_dim, s.hidden);
        vec("attn_v.bias", kv_dim, InitKind::bias);
        weight("attn_output", s.hidden, s.hidden);
        vec("ffn_norm.weight", s.hidden, InitKind::norm);
        weight("ffn_gate", s.intermediate, s.hidden);
        weight("ffn_up", s.intermediate, s.hidden);
        weight("ffn_down", s.hidden, s.intermediate);
    }
    out.push_back({"output_norm.weight", {s.hidden}, DType::F32, InitKind::norm});
    if (s.separate_output)
        out.push_back({"output.weight", {s.vocab, s.hidden}, weight_type(type, "output", 0, s.layers, true),
                       InitKind::weight});
    return out;
}

uint64_t planned_data_bytes(const std::vector<PlannedTensor>& tensors) {
    uint64_t total = 0;
    for (const auto& t : tensors) total += dtype_bytes(t.dtype, t.elements());
    return total;
}

uint64_t planned_elements(const std::vector<PlannedTensor>& tensors) {
    uint64_t total = 0;
    for (const auto& t : tensors) total += static_cast<uint64_t>(t.elements());
    return total;
}

}  // namespace apr::tools
