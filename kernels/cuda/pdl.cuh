// Programmatic dependent launch (sm_90): a kernel launched with launch_pdl
// may start while the kernel before it on the stream is still running, as
// soon as every block of that one has called pdl_release() (or exited), so
// the launch and whatever the new kernel does before pdl_wait() (loading
// weights, which never change) overlap the previous kernel's tail.
//
// The rule every kernel launched with launch_pdl keeps: each of its blocks
// calls pdl_wait() before it reads anything an earlier kernel wrote, writes
// anything an earlier kernel reads, or exits. pdl_wait() returns once the
// previous kernel has finished and its writes are visible; since that kernel
// waited for its own predecessor before it finished, the whole chain before
// is done too. (A block that exited without waiting would break the chain:
// its kernel could finish before its predecessor.) Without the launch
// attribute both instructions do nothing, so the kernels also run as plain
// launches.
//
// APR_CUDA_PDL=0 launches every kernel plainly (for measuring).
#pragma once

#include <cuda_runtime.h>

#include <cstdlib>

namespace apr::cuda {

__device__ __forceinline__ void pdl_wait() { asm volatile("griddepcontrol.wait;" ::: "memory"); }
__device__ __forceinline__ void pdl_release() { asm volatile("griddepcontrol.launch_dependents;" :::); }

inline bool pdl_enabled() {
    static const bool on = [] {
        const char* e = std::getenv("APR_CUDA_PDL");
        return e == nullptr || *e == '\0' || std::atoi(e) != 0;
    }();
    return on;
}

// kernel<<<grid, block, smem, stream>>>(args...) with the programmatic
// serialization attribute (when enabled); a stream that refuses it gets a
// plain launch. Errors surface through cudaGetLastError, as for <<< >>>.
template <class... Params, class... Args>
void launch_pdl(void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem, cudaStream_t stream, const Args&... args) {
    cudaLaunchConfig_t cfg{};
    cfg.gridDim = grid;
    cfg.blockDim = block;
    cfg.dynamicSmemBytes = smem;
    cfg.stream = stream;
    cudaLaunchAttribute attr[1];
    attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attr[0].val.programmaticStreamSerializationAllowed = 1;
    cfg.attrs = attr;
    cfg.numAttrs = pdl_enabled() ? 1 : 0;
    if (cudaLaunchKernelEx(&cfg, kernel, args...) == cudaSuccess || cfg.numAttrs == 0) return;
    cudaGetLastError();
    cfg.numAttrs = 0;
    (void)cudaLaunchKernelEx(&cfg, kernel, args...);
}

}  // namespace apr::cuda
