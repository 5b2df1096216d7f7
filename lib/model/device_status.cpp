#include "apr/device.hpp"

#include "apr_build_config.h"
#include "core/fail.hpp"
#include "model/cuda_backend.hpp"
#if APR_HAVE_CUDA
#include "cuda/device_info.h"
#endif

namespace apr {

DeviceStatus device_status(Device device, std::string* why) {
    if (device != Device::cuda) return DeviceStatus::ready;
    switch (model::probe_cuda(why)) {
        case model::CudaProbe::ready: return DeviceStatus::ready;
        case model::CudaProbe::absent: return DeviceStatus::absent;
        case model::CudaProbe::broken: return DeviceStatus::broken;
    }
    return DeviceStatus::broken;
}

namespace {

#if APR_HAVE_CUDA
trace::MachinePeaks gpu_peaks(const std::filesystem::path& cache_file) {
    AprCudaPeaks measured{};
    char message[512];
    if (apr_cuda_describe_device(&measured, message, sizeof message) != 0)
        fail(ErrorCode::internal, "asking the GPU for its name failed: {}", message);
    if (std::optional<trace::MachinePeaks> cached = trace::find_cached_peaks(measured.name, 0, true, cache_file)) {
        cached->llc_bytes = measured.l2_bytes;
        return *cached;
    }
    if (apr_cuda_measure_peaks(&measured, message, sizeof message) != 0)
        fail(ErrorCode::internal, "measuring the GPU's peaks for --profile failed: {}", message);
    trace::MachinePeaks p;
    p.cpu = measured.name;
    p.gpu = true;
    p.bandwidth_gbs = measured.read_gbs;
    p.gflops = measured.f16_gflops;
    p.llc_bytes = measured.l2_bytes;
    trace::store_peaks(p, cache_file);
    return p;
}
#endif

}  // namespace

trace::MachinePeaks device_peaks(const Model& model, const std::filesystem::path& cache_file) {
#if APR_HAVE_CUDA
    if (model.device() == Device::cuda) return gpu_peaks(cache_file);
#endif
    return trace::cached_peaks(model.threads(), cache_file);
}

}  // namespace apr
