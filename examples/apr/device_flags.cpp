#include "device_flags.hpp"

#include <string>

namespace apr::cli {

void add_device_flags(Flags& flags, DeviceFlags* target) {
    flags.add("--device", &target->device,
              "where the model computes: auto (the GPU when there is one), cpu or cuda", "auto|cpu|cuda");
    flags.add("--gpu-layers", &target->gpu_layers,
              "with the GPU: run only the last N layers (and the LM head) there, the rest on the CPU (-1 = all)");
}

Device parse_device(const DeviceFlags& flags) {
    if (flags.device == "auto") return Device::automatic;
    if (flags.device == "cpu") return Device::cpu;
    if (flags.device == "cuda") return Device::cuda;
    throw UsageError("--device must be auto, cpu or cuda (got '" + flags.device + "')");
}

void apply_device_flags(const DeviceFlags& flags, ModelParams& mp) {
    mp.device = parse_device(flags);
    if (flags.gpu_layers < -1 || flags.gpu_layers > 1000000)
        throw UsageError("--gpu-layers must be -1 (all) or 0..1000000 (got " + std::to_string(flags.gpu_layers) + ")");
    mp.gpu_layers = static_cast<int>(flags.gpu_layers);
}

}  // namespace apr::cli
