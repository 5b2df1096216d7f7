#include "apr/device.hpp"

#include "model/cuda_backend.hpp"

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

}  // namespace apr
