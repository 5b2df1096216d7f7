#include "device_flags.hpp"

namespace apr::cli {

void add_device_flags(Flags& flags, DeviceFlags* target) {
    flags.add("--device", &target->device,
              "where the model computes: auto (the GPU when there is one), cpu or cuda", "auto|cpu|cuda");
}

Device parse_device(const DeviceFlags& flags) {
    if (flags.device == "auto") return Device::automatic;
    if (flags.device == "cpu") return Device::cpu;
    if (flags.device == "cuda") return Device::cuda;
    throw UsageError("--device must be auto, cpu or cuda (got '" + flags.device + "')");
}

}  // namespace apr::cli
