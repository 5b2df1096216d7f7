// Model loading: open the file, check the config, bind weights to the backend.
#include <algorithm>
#include <cstdlib>
#include <string>

#include <fmt/format.h>

#include "apr/model.hpp"
#include "apr/tokenizer.hpp"
#include "core/fail.hpp"
#include "model/cpu_backend.hpp"
#include "model/cuda_backend.hpp"
#include "model/model_impl.hpp"
#include "model/tokenizer_bridge.hpp"

namespace apr {

Observer::~Observer() = default;

std::string_view op_kind_name(OpKind kind) noexcept {
    switch (kind) {
        case OpKind::embed: return "embed";
        case OpKind::rmsnorm: return "rmsnorm";
        case OpKind::matmul: return "matmul";
        case OpKind::bias: return "bias";
        case OpKind::rope: return "rope";
        case OpKind::attention: return "attention";
        case OpKind::swiglu: return "swiglu";
        case OpKind::add: return "add";
        case OpKind::lm_head: return "lm_head";
    }
    return "unknown";
}

std::string_view device_name(Device device) noexcept {
    switch (device) {
        case Device::cpu: return "cpu";
        case Device::cuda: return "cuda";
        case Device::automatic: return "auto";
    }
    return "unknown";
}

Model::Model(std::unique_ptr<model::ModelImpl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;

std::unique_ptr<Model> Model::load(const std::filesystem::path& path, const ModelParams& params) {
    return from_file(open_model_file(path), params);
}

namespace {

// Bytes the GPU must hold for layers [split, L) and the LM head (all of the
// file's tensors when nothing is split off).
size_t gpu_bytes(const ModelFile& file, int64_t split, int64_t layers) {
    size_t bytes = 0;
    const bool tied = file.find_tensor("output.weight") == nullptr;
    for (const TensorView& t : file.tensors()) {
        const std::string_view name = t.name;
        bool on_gpu = split == 0;
        if (name.starts_with("blk.")) {
            const int64_t layer = std::atoll(std::string(name.substr(4)).c_str());
            on_gpu = layer >= split && layer < layers;
        } else if (name == "output.weight" || name == "output_norm.weight" || (tied && name == "token_embd.weight")) {
            on_gpu = true;
        }
        // As the CUDA backend's arena holds it: vectors as f32, each tensor
        // at a 256-byte boundary.
        const size_t held = t.shape.size() == 1 ? static_cast<size_t>(t.elements()) * sizeof(float) : t.nbytes;
        if (on_gpu) bytes += (held + 255) / 256 * 256;
    }
    return bytes;
}

}  // namespace

std::unique_ptr<Model> Model::from_file(std::unique_ptr<ModelFile> file, const ModelParams& params) {
    if (!file) fail(ErrorCode::invalid_argument, "Model::from_file: no file");
    if (params.threads < 0) fail(ErrorCode::invalid_argument, "model params: threads = {} (must be >= 0)", params.threads);
    if (params.gpu_layers < -1)
        fail(ErrorCode::invalid_argument, "model params: gpu_layers = {} (must be >= 0, or -1 for all)", params.gpu_layers);
    const int64_t layers = file->config().num_layers;
    Device device = params.device;
    if (device == Device::automatic) device = model::cuda_available(nullptr) ? Device::cuda : Device::cpu;
    const int64_t on_gpu = device != Device::cuda ? 0 : params.gpu_layers < 0 ? layers : std::min<int64_t>(params.gpu_layers, layers);
    if (device == Device::cuda && on_gpu == 0) device = Device::cpu;  // --gpu-layers 0: nothing on the GPU
    const int64_t split = layers - on_gpu;  // layers [0, split) on the CPU
    std::unique_ptr<model::Backend> first, second;
    if (device == Device::cuda && split == 0) {
        first = model::make_cuda_backend(*file, gpu_bytes(*file, 0, layers));
    } else if (device == Device::cuda) {
        second = model::make_cuda_backend(*file, gpu_bytes(*file, split, layers));
        first = model::make_cpu_backend(params.threads);
    } else {
        first = model::make_cpu_backend(params.threads);
    }
    return model::ModelAssembly::assemble(std::move(file), params, device, std::move(first), std::move(second), split);
}

namespace model {

std::unique_ptr<Model> ModelAssembly::assemble(std::unique_ptr<ModelFile> file, const ModelParams& params, Device device,
                                               std::unique_ptr<Backend> first, std::unique_ptr<Backend> second,
                                               int64_t split) {
    auto impl = std::make_unique<ModelImpl>();
    impl->config = file->config();
    validate_config(impl->config, file->path().string());
    impl->device = device;
    impl->backend = std::move(first);
    impl->second_backend = std::move(second);
    impl->threads = impl->backend->threads();
    // Progress: 0 at the start, 0.9 once every layer is bound, 1 at the end.
    auto report = [&](float p) {
        if (params.progress && !params.progress(p))
            fail(ErrorCode::cancelled, "{}: loading cancelled by the progress callback", file->path().string());
    };
    report(0.0f);
    auto layer_progress = [&](int64_t done, int64_t total) {
        return !params.progress || params.progress(0.9f * static_cast<float>(done) / static_cast<float>(total));
    };
    if (impl->second_backend)
        impl->weights = bind_weights(*file, impl->config, *impl->backend, *impl->second_backend, split, layer_progress);
    else
        impl->weights = bind_weights(*file, impl->config, *impl->backend, layer_progress);
    impl->full_precision_weights = full_precision(impl->weights);

    impl->tokenizer = load_tokenizer(*file);
    std::vector<int32_t> ends = impl->config.eos_token_ids;
    if (impl->tokenizer) {
        const std::vector<int32_t> more = tokenizer_end_ids(*impl->tokenizer);
        ends.insert(ends.end(), more.begin(), more.end());
    }
    std::sort(ends.begin(), ends.end());
    ends.erase(std::unique(ends.begin(), ends.end()), ends.end());
    impl->end_token_ids = std::move(ends);
    report(1.0f);
    impl->file = std::move(file);
    return std::unique_ptr<Model>(new Model(std::move(impl)));
}

}  // namespace model

const ModelConfig& Model::config() const { return impl_->config; }
const ModelFile& Model::file() const { return *impl_->file; }
const Tokenizer* Model::tokenizer() const { return impl_->tokenizer.get(); }
const std::vector<int32_t>& Model::end_token_ids() const { return impl_->end_token_ids; }
int Model::threads() const { return impl_->threads; }
Device Model::device() const { return impl_->device; }
std::string Model::backend_description() const {
    const model::ModelWeights& w = impl_->weights;
    if (w.stages.size() < 2) return impl_->backend->description();
    std::string text;
    for (const model::Stage& s : w.stages)
        text += fmt::format("{}layers {}-{} on {}", text.empty() ? "" : "; ", s.first_layer, s.end_layer - 1,
                            s.backend->description());
    return text + "; LM head on the last";
}

}  // namespace apr
