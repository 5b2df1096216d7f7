// A loaded model: architecture config, weights bound to a compute backend,
// and the tokenizer that came with the file. Load once, then create any
// number of Sessions on it.
//
// Thread-safety: a Model is immutable after load; sessions on different
// threads may share one Model (each Session is used by one thread at a time).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "apr/export.hpp"
#include "apr/model_config.hpp"
#include "apr/model_file.hpp"

namespace apr {

class Tokenizer;

// Where a model computes. automatic: CUDA when this build has it and a device
// is present, else the CPU. Asking for cuda where it is unavailable is an
// error (apr::Error unsupported) that says why.
enum class Device { cpu, cuda, automatic };
APR_API std::string_view device_name(Device device) noexcept;  // "cpu", "cuda", "auto"

struct ModelParams {
    Device device = Device::cpu;
    // CPU worker threads for this model's task arena; 0 = every hardware thread.
    int threads = 0;
    // Called while loading with progress from 0 to 1 (binding each layer's
    // weights, then the tokenizer; the last call is 1). Return false to stop:
    // the load throws apr::Error(cancelled). May be empty.
    std::function<bool(float progress)> progress;
};

// ---- tracing hooks ----------------------------------------------------------
// An Observer sees every op and layer boundary of a forward pass. Sessions
// without an observer pay nothing (one null check per op).
enum class OpKind { embed, rmsnorm, matmul, bias, rope, attention, swiglu, add, lm_head };
APR_API std::string_view op_kind_name(OpKind kind) noexcept;

struct OpEvent {
    OpKind op;
    int layer;               // -1 outside the transformer blocks
    std::string_view name;   // weight involved ("blk.0.attn_q.weight"), or the op's name
    const float* output;     // rows x cols, row-major; in host memory on the CPU backend
    int64_t rows;            // tokens in the batch
    int64_t cols;
};

// Where a hidden state was taken: the embedding output (layer -1), the output
// of each transformer block (layer 0..n-1), and the final norm (layer n). The
// final norm runs only on the rows whose logits are wanted (the last token
// for Session::evaluate, every token for evaluate_all), so its event has
// those rows; `positions` then still lists the whole batch's positions.
enum class LayerStage { embedding, block_output, final_norm };
struct LayerEvent {
    LayerStage stage;
    int layer;
    const float* hidden;     // rows x cols, row-major, host memory on the CPU backend
    int64_t rows;            // tokens in the batch
    int64_t cols;            // hidden size
    const int32_t* positions;  // position of each row
};

class APR_API Observer {
public:
    virtual ~Observer();
    virtual void on_op(const OpEvent&) {}
    virtual void on_layer(const LayerEvent&) {}
};

namespace model {
struct ModelImpl;
}

class APR_API Model {
public:
    // Opens `path` (GGUF, SafeTensors file, Hugging Face directory) and binds
    // its weights to the device. Weights stay in the file mapping (no copy of
    // the large tensors). Throws apr::Error naming the file/tensor at fault.
    static std::unique_ptr<Model> load(const std::filesystem::path& path, const ModelParams& params = {});
    // Same, from a file already opened.
    static std::unique_ptr<Model> from_file(std::unique_ptr<ModelFile> file, const ModelParams& params = {});
    ~Model();
    Model(const Model&) = delete;
    Model& operator=(const Model&) = delete;

    const ModelConfig& config() const;
    const ModelFile& file() const;
    // The tokenizer described by the file; nullptr if it has none.
    const Tokenizer* tokenizer() const;
    // Ids that end generation: the config's eos ids plus the tokenizer's eos
    // and end-of-turn control tokens (<|im_end|>, <|endoftext|>, ...). Sorted.
    const std::vector<int32_t>& end_token_ids() const;
    // Threads the model computes with (ModelParams::threads, or the hardware's count for 0).
    int threads() const;
    Device device() const;

    model::ModelImpl& impl() const { return *impl_; }

private:
    explicit Model(std::unique_ptr<model::ModelImpl> impl);
    std::unique_ptr<model::ModelImpl> impl_;
};

}  // namespace apr
