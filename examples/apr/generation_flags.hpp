// The flags every model-running command shares for what it generates:
// --system, sampling (--temperature, --top-k, ...), --max-tokens, --threads.
// Declared once here so `apr run` and `apr chat` read and validate them the
// same way; `apr chat`'s /set changes the same fields at run time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "apr/generate.hpp"
#include "apr/model.hpp"
#include "device_flags.hpp"
#include "flags.hpp"

namespace apr::cli {

struct GenerationFlags {
    std::optional<std::string> system;
    int64_t max_tokens = 256;
    std::optional<double> temperature;  // unset: greedy
    int64_t top_k = 40;
    double top_p = 0.95, min_p = 0.05, repeat_penalty = 1.0;
    double presence_penalty = 0.0, frequency_penalty = 0.0;
    int64_t seed = 0;
    int64_t threads = 0;
    DeviceFlags device;  // --device

    void add_to(Flags& flags, const std::string& max_tokens_help = "most tokens to generate");
    // Throws UsageError naming the flag out of range (before any model is opened).
    void validate() const;
    GenerateParams generate_params() const;
    ModelParams model_params() const;
};

// `/set NAME VALUE` of apr chat: sets one of the sampling/generation fields by
// its flag name without dashes ("temperature", "top-k" or "top_k", ...).
// Throws UsageError for an unknown name or a bad value; the fields are left
// unchanged then.
void set_generation_option(GenerationFlags& flags, const std::string& name, const std::string& value);
// "temperature 0.7, top-k 40, ..." (what /set and /stats show).
std::string describe_generation_options(const GenerationFlags& flags);

}  // namespace apr::cli
