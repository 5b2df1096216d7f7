// The CUDA implementation of the backend interface (built when nvcc is
// found; see kernels/cuda). Weights are uploaded once in their stored type,
// activations and KV caches live in device memory, and every op is queued on
// one stream; only to_host waits for it. Declared in every build so callers
// need no #ifdef: without CUDA, cuda_available() says why and
// make_cuda_backend throws.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "apr/model_file.hpp"
#include "model/backend.hpp"

namespace apr::model {

// What a look for a CUDA device found: ready; absent (no CUDA in this build,
// or no NVIDIA device and driver on this machine); broken (a device or driver
// is there but CUDA fails: a real error, never a reason to skip a test).
enum class CudaProbe { ready, absent, broken };
CudaProbe probe_cuda(std::string* why);

// Whether a CUDA device can run the kernels; `why` gets the reason when not
// ("this build has no CUDA support", the driver's error, "no CUDA device").
bool cuda_available(std::string* why);

// Throws apr::Error(unsupported) when CUDA is unavailable and
// apr::Error(out_of_memory) when `weight_bytes` of the model's tensors
// (bytes needed and free named) do not fit on device 0.
std::unique_ptr<Backend> make_cuda_backend(const ModelFile& file, size_t weight_bytes);

}  // namespace apr::model
