// Model loading: open the file, check the config, bind weights to the backend.
#include <algorithm>

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

std::unique_ptr<Model> Model::from_file(std::unique_ptr<ModelFile> file, const ModelParams& params) {
    if (!file) fail(ErrorCode::invalid_argument, "Model::from_file: no file");
    if (params.threads < 0) fail(ErrorCode::invalid_argument, "model params: threads = {} (must be >= 0)", params.threads);
    auto impl = std::make_unique<model::ModelImpl>();
    impl->config = file->config();
    model::validate_config(impl->config, file->path().string());
    Device device = params.device;
    if (device == Device::automatic) device = model::cuda_available(nullptr) ? Device::cuda : Device::cpu;
    impl->device = device;
    impl->backend = device == Device::cuda ? model::make_cuda_backend(*file) : model::make_cpu_backend(params.threads);
    impl->threads = impl->backend->threads();
    // Progress: 0 at the start, 0.9 once every layer is bound, 1 at the end.
    auto report = [&](float p) {
        if (params.progress && !params.progress(p))
            fail(ErrorCode::cancelled, "{}: loading cancelled by the progress callback", file->path().string());
    };
    report(0.0f);
    impl->weights = model::bind_weights(*file, impl->config, *impl->backend, [&](int64_t done, int64_t total) {
        return !params.progress || params.progress(0.9f * static_cast<float>(done) / static_cast<float>(total));
    });
    impl->full_precision_weights = model::full_precision(impl->weights);

    impl->tokenizer = model::load_tokenizer(*file);
    std::vector<int32_t> ends = impl->config.eos_token_ids;
    if (impl->tokenizer) {
        const std::vector<int32_t> more = model::tokenizer_end_ids(*impl->tokenizer);
        ends.insert(ends.end(), more.begin(), more.end());
    }
    std::sort(ends.begin(), ends.end());
    ends.erase(std::unique(ends.begin(), ends.end()), ends.end());
    impl->end_token_ids = std::move(ends);
    report(1.0f);
    impl->file = std::move(file);
    return std::unique_ptr<Model>(new Model(std::move(impl)));
}

const ModelConfig& Model::config() const { return impl_->config; }
const ModelFile& Model::file() const { return *impl_->file; }
const Tokenizer* Model::tokenizer() const { return impl_->tokenizer.get(); }
const std::vector<int32_t>& Model::end_token_ids() const { return impl_->end_token_ids; }
int Model::threads() const { return impl_->threads; }
Device Model::device() const { return impl_->device; }
std::string Model::backend_description() const { return impl_->backend->description(); }

}  // namespace apr
