// Which devices can run models on this machine (apr::Device is declared in
// apr/model.hpp). Front ends ask before loading: `apr qa` reports GPU cells
// as skipped where there is no GPU, and fails them where a GPU is present
// but CUDA is broken.
#pragma once

#include <filesystem>
#include <string>

#include "apr/export.hpp"
#include "apr/model.hpp"
#include "apr/trace.hpp"

namespace apr {

// ready: models can run there. absent: no CUDA in this build, or no NVIDIA
// device and driver on this machine. broken: a device or driver is present
// but CUDA fails (a real error, never a reason to skip).
enum class DeviceStatus { ready, absent, broken };

// `why` (if given) gets the reason when not ready. cpu and automatic are
// always ready (automatic falls back to the CPU). For cuda the CUDA runtime
// is asked for its devices; no model is loaded and no memory is taken.
APR_API DeviceStatus device_status(Device device, std::string* why = nullptr);

// The peaks `--profile` sets a model's ops against: the GPU's (read
// bandwidth and f16 tensor-core rate, measured on the card) when the model
// runs on CUDA, else the CPU's for the model's thread count. Cached in
// `cache_file` by machine name (trace::default_peaks_cache()); measured
// and stored when missing. A GPU whose measurement fails throws apr::Error.
APR_API trace::MachinePeaks device_peaks(const Model& model, const std::filesystem::path& cache_file);

}  // namespace apr
