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
#include <string>
#include <string_view>
#include <vector>

#include "apr/dtype.hpp"
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
    // With the GPU (device cuda, or auto finding one): how many of the
    // model's layers run there, the last ones, with the final norm and the
    // LM head; the embedding and the layers before them run on the CPU, and
    // the hidden state crosses once per forward pass. -1 (or at least the
    // layer count) = every layer on the GPU; 0 = the CPU runs the whole
    // model. Ignored on the CPU.
    int gpu_layers = -1;
    // Called while loading with progress from 0 to 1 (binding each layer's
    // weights, then the tokenizer; the last call is 1). Return false to stop:
    // the load throws apr::Error(cancelled). May be empty.
    std::function<bool(float progress)> progress;
};

// ---- tracing hooks ----------------------------------------------------------
// An Observer sees a generation stage by stage: tokenizing, each forward pass
// (a prompt batch or one decode step) with its positions, every op inside it
// with its weight type, kernel and time, every layer boundary, and each
// sampling step. Sessions without an observer pay nothing: one null check
// per op, no clock reads. apr/trace.hpp builds reports on top (trace::Recorder).
//
// Times come from the backend's op timer: the host clock on the CPU (ops are
// synchronous there); a device backend times with device events, so a GPU
// op's time is its time on the device, not its launch.
enum class OpKind { embed, rmsnorm, matmul, bias, rope, attention, swiglu, add, lm_head };
APR_API std::string_view op_kind_name(OpKind kind) noexcept;

struct OpEvent {
    OpKind op;
    int layer;               // -1 outside the transformer blocks
    std::string_view name;   // weight involved ("blk.0.attn_q.weight"), or the op's name; lives as long as the Model
    const float* output;     // rows x cols, row-major, host memory; null when the observer did not ask for
                             // outputs and the backend's memory is not host memory
    int64_t rows;            // tokens in the batch
    int64_t cols;
    // Added for tracing (zero / empty where they do not apply):
    DType weight_type = DType::F32;  // the weight's stored type (matmul, lm_head, embed)
    int64_t weight_rows = 0;         // the weight's shape: out x in
    int64_t weight_cols = 0;
    std::string_view kernel;         // the kernel that ran, e.g. "avx512 Q4_K x Q8_K"; static storage
    double ms = 0;                   // time of the op
    double start_ms = 0;             // when it began, since its forward pass began (the op timer's clock)
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
    const float* hidden;     // rows x cols, row-major, host memory (null: see OpEvent::output)
    int64_t rows;            // tokens in the batch
    int64_t cols;            // hidden size
    const int32_t* positions;  // position of each row
};

// One forward pass: a prompt batch or a decode step (or a continuous-batching
// step mixing sequences). `ms` is set in on_batch_end only.
struct BatchEvent {
    int64_t rows;              // tokens in the pass
    const int32_t* positions;  // position of each row
    int64_t sequences;         // sequences in the pass (1 for a Session)
    int64_t layers;            // transformer blocks the pass runs
    double ms = 0;
};

// Which part of a generation the next forward passes belong to.
enum class GenerationPhase { prompt, decode };

struct TokenizeEvent {
    size_t text_bytes;
    int64_t tokens;
    double ms;
};

struct SampleEvent {
    int64_t step;                 // 0 for the first generated token
    int32_t token;                // the chosen id
    const float* logits;          // the raw logits it was chosen from (vocab floats, host memory)
    int64_t vocab;
    double ms;                    // time spent in the sampler
};

class APR_API Observer {
public:
    virtual ~Observer();
    virtual void on_op(const OpEvent&) {}
    virtual void on_layer(const LayerEvent&) {}
    virtual void on_batch_begin(const BatchEvent&) {}
    virtual void on_batch_end(const BatchEvent&) {}
    virtual void on_phase(GenerationPhase) {}
    virtual void on_tokenize(const TokenizeEvent&) {}
    virtual void on_sample(const SampleEvent&) {}
    // Whether OpEvent::output / LayerEvent::hidden must be host memory even
    // on a device backend (the forward pass then copies them: slow, for
    // activation statistics only). Asked once per forward pass.
    virtual bool wants_outputs() const { return false; }
};

namespace model {
struct ModelImpl;
struct ModelAssembly;
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
    // The backend in words, e.g. "cpu, avx512 kernels, 8 threads" (for reports).
    std::string backend_description() const;

    model::ModelImpl& impl() const { return *impl_; }

private:
    friend struct model::ModelAssembly;
    explicit Model(std::unique_ptr<model::ModelImpl> impl);
    std::unique_ptr<model::ModelImpl> impl_;
};

}  // namespace apr
