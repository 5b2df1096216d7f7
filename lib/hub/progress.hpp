// The default progress display: one self-rewriting line on stderr when it
// is a terminal (name, percent, bytes, speed, ETA), nothing otherwise.
#pragma once

#include "apr/hub.hpp"

namespace apr::hub {

// The callback download() uses when the caller gave none: the terminal bar,
// or a null callback when stderr is not a terminal or
// HF_HUB_DISABLE_PROGRESS_BARS is set.
ProgressCallback default_progress();

// "1.5 GB", "312 kB", "17 B" (powers of 1000, like huggingface_hub).
std::string human_bytes(double bytes);

// "file.gguf  42% 1.2 GB/2.9 GB  85.3 MB/s  ETA 0:20", width-limited.
std::string progress_line(const Progress& p, size_t width);

}  // namespace apr::hub
