#include "model/weights.hpp"

#include <fmt/format.h>

#include <optional>

#include "core/fail.hpp"

namespace apr::model {
namespace {

std::string shape_text(const std::vector<int64_t>& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

class Binder {
public:
    Binder(const ModelFile& file, Backend& backend) : file_(file), backend_(backend) {}

    // A matrix {rows, cols} used by matmul / get_rows.
    // The embedding table goes through Backend::bind_embedding (`tied`: it is
    // also the LM head).
    Weight matrix(const std::string& name, int64_t rows, int64_t cols, std::optional<bool> embedding_tied = {}) {
        const TensorView& t = file_.tensor(name);
        check_shape(t, {rows, cols});
        const DTypeInfo* info = dtype_info(t.dtype);
        if (info == nullptr || !backend_.supports_matmul(t.dtype))
            fail(ErrorCode::unsupported, "{}: tensor '{}' has type {}, which the {} backend cannot multiply",
                 file_.path().string(), name, dtype_name(t.dtype), backend_.name());
        if (cols % info->block_elements != 0)
            fail(ErrorCode::bad_format, "{}: tensor '{}' rows of {} values are not whole {} blocks",
                 file_.path().string(), name, cols, info->name);
        check_bytes(t);
        return embedding_tied ? backend_.bind_embedding(t, *embedding_tied) : backend_.bind(t, false);
    }

    // A vector of n values, converted to f32 (norm weights, biases).
    Weight vector(const std::string& name, int64_t n) {
        const TensorView& t = file_.tensor(name);
        check_shape(t, {n});
        check_bytes(t);
        return backend_.bind(t, true);
    }

    Weight optional_vector(const std::string& name, int64_t n) {
        if (file_.find_tensor(name) == nullptr) return {};
        return vector(name, n);
    }

private:
    void check_shape(const TensorView& t, const std::vector<int64_t>& want) {
        if (t.shape != want)
            fail(ErrorCode::bad_format, "{}: tensor '{}' has shape {}, expected {} from the model config",
                 file_.path().string(), t.name, shape_text(t.shape), shape_text(want));
    }
    void check_bytes(const TensorView& t) {
        if (t.data == nullptr || t.nbytes != dtype_bytes(t.dtype, t.elements()))
            fail(ErrorCode::bad_format, "{}: tensor '{}' holds {} bytes, expected {} for {} {}",
                 file_.path().string(), t.name, t.nbytes, dtype_bytes(t.dtype, t.elements()), shape_text(t.shape),
                 dtype_name(t.dtype));
    }

    const ModelFile& file_;
    Backend& backend_;
};

}  // namespace

void validate_config(const ModelConfig& c, const std::string& source) {
    auto positive = [&](int64_t value, const char* field) {
        if (value <= 0 || value > (int64_t{1} << 31))
            fail(ErrorCode::bad_format, "{}: model config field '{}' = {} is out of range", source, field, value);
    };
    positive(c.hidden_size, "hidden_size");
    positive(c.num_layers, "num_layers");
    positive(c.num_heads, "num_heads");
    positive(c.num_kv_heads, "num_kv_heads");
    positive(c.head_dim, "head_dim");
    positive(c.intermediate_size, "intermediate_size");
    positive(c.vocab_size, "vocab_size");
    if (c.num_heads % c.num_kv_heads != 0)
        fail(ErrorCode::bad_format, "{}: num_heads {} is not a multiple of num_kv_heads {}", source, c.num_heads,
             c.num_kv_heads);
    if (c.head_dim % 2 != 0 || c.head_dim > kMaxHeadDim)
        fail(ErrorCode::unsupported, "{}: head_dim {} must be even and at most {}", source, c.head_dim, kMaxHeadDim);
    if (!(c.rope_theta > 0.0) || !(c.rms_norm_eps > 0.0) || c.rms_norm_eps > 1.0)
        fail(ErrorCode::bad_format, "{}: rope_theta {} / rms_norm_eps {} out of range", source, c.rope_theta,
             c.rms_norm_eps);
    if (c.architecture != "qwen2" && c.architecture != "llama")
        fail(ErrorCode::unsupported, "{}: architecture '{}' is not supported (qwen2, llama)", source, c.architecture);
}

ModelWeights bind_weights(const ModelFile& file, const ModelConfig& c, Backend& backend,
                          const std::function<bool(int64_t done, int64_t total)>& progress) {
    return bind_weights(file, c, backend, backend, c.num_layers, progress);
}

ModelWeights bind_weights(const ModelFile& file, const ModelConfig& c, Backend& first, Backend& second, int64_t split,
                          const std::function<bool(int64_t done, int64_t total)>& progress) {
    if (split < 0 || split > c.num_layers)
        fail(ErrorCode::invalid_argument, "{}: a split after layer {} of {}", file.path().string(), split, c.num_layers);
    const bool one = &first == &second || split == c.num_layers || split == 0;
    Backend& head_backend = split == c.num_layers ? first : second;
    Binder bind_first(file, split == 0 ? second : first), bind_second(file, second);
    const int64_t d = c.hidden_size;
    const int64_t q_dim = c.num_heads * c.head_dim;
    const int64_t kv_dim = c.num_kv_heads * c.head_dim;
    ModelWeights w;
    if (one) {
        w.stages.push_back({split == 0 ? &second : &first, 0, static_cast<int>(c.num_layers)});
    } else {
        w.stages.push_back({&first, 0, static_cast<int>(split)});
        w.stages.push_back({&second, static_cast<int>(split), static_cast<int>(c.num_layers)});
    }
    // Tied embeddings: files omit output.weight and the LM head reuses the
    // embedding matrix (bound again when the head is on another backend).
    // A file that has the tensor uses it.
    const bool tied = file.find_tensor("output.weight") == nullptr;
    w.token_embd = bind_first.matrix("token_embd.weight", c.vocab_size, d, /*embedding_tied=*/tied && one);
    for (int64_t i = 0; i < c.num_layers; ++i) {
        Binder& bind = i < split ? bind_first : bind_second;
        const std::string p = fmt::format("blk.{}.", i);
        LayerWeights& l = w.layers.emplace_back();
        l.attn_norm = bind.vector(p + "attn_norm.weight", d);
        l.wq = bind.matrix(p + "attn_q.weight", q_dim, d);
        l.wk = bind.matrix(p + "attn_k.weight", kv_dim, d);
        l.wv = bind.matrix(p + "attn_v.weight", kv_dim, d);
        l.wo = bind.matrix(p + "attn_output.weight", d, q_dim);
        l.bq = bind.optional_vector(p + "attn_q.bias", q_dim);
        l.bk = bind.optional_vector(p + "attn_k.bias", kv_dim);
        l.bv = bind.optional_vector(p + "attn_v.bias", kv_dim);
        l.ffn_norm = bind.vector(p + "ffn_norm.weight", d);
        l.w_gate = bind.matrix(p + "ffn_gate.weight", c.intermediate_size, d);
        l.w_up = bind.matrix(p + "ffn_up.weight", c.intermediate_size, d);
        l.w_down = bind.matrix(p + "ffn_down.weight", d, c.intermediate_size);
        if (progress && !progress(i + 1, c.num_layers))
            fail(ErrorCode::cancelled, "{}: loading cancelled by the progress callback", file.path().string());
    }
    Binder& bind_head = &head_backend == &first ? bind_first : bind_second;
    w.output_norm = bind_head.vector("output_norm.weight", d);
    if (!tied)
        w.output = bind_head.matrix("output.weight", c.vocab_size, d);
    else if (one)
        w.output = w.token_embd;
    else
        w.output = bind_head.matrix("token_embd.weight", c.vocab_size, d);
    // llama.cpp's converter permutes Llama q/k rows for interleaved rotary
    // pairs; Qwen2 GGUFs and every Hugging Face checkpoint use NEOX pairs.
    // An APR file records which layout its q/k rows are in (apr.rope_type).
    bool normal_pairs = file.format() == FileFormat::gguf && c.architecture == "llama";
    if (file.format() == FileFormat::apr)
        if (const MetaValue* rope = file.find_metadata("apr.rope_type"))
            normal_pairs = meta_string(*rope) && *meta_string(*rope) == "normal";
    w.rope_style = normal_pairs ? RopeStyle::normal : RopeStyle::neox;
    return w;
}

bool full_precision(const ModelWeights& w) {
    auto full = [](const Weight& x) { return !x || x.type == DType::F32 || x.type == DType::F16 || x.type == DType::BF16; };
    if (!full(w.output)) return false;
    for (const LayerWeights& l : w.layers)
        for (const Weight* x : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down})
            if (!full(*x)) return false;
    return true;
}

}  // namespace apr::model
