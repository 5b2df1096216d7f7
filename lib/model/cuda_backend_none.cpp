// cuda_backend.hpp for builds without CUDA (no nvcc at configure time).
#include "core/fail.hpp"
#include "model/cuda_backend.hpp"

namespace apr::model {

CudaProbe probe_cuda(std::string* why) {
    cuda_available(why);
    return CudaProbe::absent;
}

bool cuda_available(std::string* why) {
    if (why) *why = "this build of libapr has no CUDA support (nvcc was not found when it was configured)";
    return false;
}

std::unique_ptr<Backend> make_cuda_backend(const ModelFile& file, size_t) {
    fail(ErrorCode::unsupported, "{}: CUDA was asked for but this build of libapr has no CUDA support "
         "(nvcc was not found when it was configured)", file.path().string());
}

}  // namespace apr::model
