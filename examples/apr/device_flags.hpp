// The --device flag, shared by every command that runs a model: declared
// once here so each command adds it the same way.
#pragma once

#include <string>

#include "apr/model.hpp"
#include "flags.hpp"

namespace apr::cli {

struct DeviceFlags {
    std::string device = "auto";
};

void add_device_flags(Flags& flags, DeviceFlags* target);

// The device named by --device; throws UsageError for another name.
Device parse_device(const DeviceFlags& flags);

}  // namespace apr::cli
