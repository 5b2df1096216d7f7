// The --device flag, shared by every command that runs a model: declared
// once here so each command adds it the same way.
#pragma once

#include <string>

#include "apr/model.hpp"
#include "flags.hpp"

namespace apr::cli {

struct DeviceFlags {
    std::string device = "auto";
    int64_t gpu_layers = -1;  // --gpu-layers
};

// --device and --gpu-layers.
void add_device_flags(Flags& flags, DeviceFlags* target);

// The device named by --device; throws UsageError for another name or a
// --gpu-layers below -1.
Device parse_device(const DeviceFlags& flags);
// mp.device and mp.gpu_layers from the flags (validated as parse_device does).
void apply_device_flags(const DeviceFlags& flags, ModelParams& mp);

}  // namespace apr::cli
