// What a Model and a Session hold behind their public pimpl handles.
#pragma once

#include <memory>
#include <vector>

#include "apr/model.hpp"
#include "apr/session.hpp"
#include "model/backend.hpp"
#include "model/transformer.hpp"
#include "model/weights.hpp"

namespace apr::model {

struct ModelImpl {
    std::unique_ptr<ModelFile> file;  // owns the mapping the weights point into
    ModelConfig config;
    int threads = 0;
    Device device = Device::cpu;  // cuda when any layer runs on the GPU
    // The first stage's backend (the only one unless the model is split),
    // and the second's (the GPU's) when split (ModelParams::gpu_layers).
    std::unique_ptr<Backend> backend;
    std::unique_ptr<Backend> second_backend;
    ModelWeights weights;
    // Every matmul weight is F32, F16 or BF16 (picks the default KV cache type).
    bool full_precision_weights = false;
    std::shared_ptr<const Tokenizer> tokenizer;  // null when the file has none
    std::vector<int32_t> end_token_ids;
};

// Builds a Model from an open file and its backends: layers [0, split) on
// `first`, the rest on `second` (null: everything on `first`). from_file
// calls it; tests split a model between two CPU backends with it.
struct ModelAssembly {
    static std::unique_ptr<Model> assemble(std::unique_ptr<ModelFile> file, const ModelParams& params, Device device,
                                           std::unique_ptr<Backend> first, std::unique_ptr<Backend> second,
                                           int64_t split);
};

struct SessionImpl {
    const Model* model;
    ModelImpl* m;
    int64_t context_length;
    KVCacheType kv_type;
    int64_t batch_size;
    Observer* observer;
    std::unique_ptr<KVCache> cache;
    ForwardBuffers buffers;
    int64_t position = 0;
    std::vector<float> last_logits;  // vocab_size
    // Per-batch scratch reused between calls.
    std::vector<int32_t> positions;
    std::vector<int32_t> logit_rows;

    // Runs tokens at the next positions in batches of batch_size; writes the
    // logits of every token (all_logits, tokens x vocab) or of the last one
    // into `logits`, or (argmax given, logits null) the last one's argmax id.
    void run(std::span<const int32_t> tokens, bool all_logits, float* logits, int32_t* argmax = nullptr);
    void run_batches(std::span<const int32_t> tokens, bool all_logits, float* logits, int64_t vocab, int32_t* argmax);
};

}  // namespace apr::model
