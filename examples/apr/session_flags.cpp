#include "session_flags.hpp"

#include <fmt/format.h>

namespace apr::cli {

void SessionFlags::add_to(Flags& flags, const std::string& per) {
    flags.add("--ctx-size", &ctx_size,
              fmt::format("KV-cache positions{} (0 = the model's trained context; more is an error). Memory grows "
                          "with use, in blocks of 256 positions",
                          per.empty() ? "" : " " + per));
    flags.add("--kv-type", &kv_type,
              "KV-cache type: f32, f16, q8_0, or auto (f32 for F32/F16/BF16 weights, f16 for quantized)", "TYPE");
}

void SessionFlags::validate() const {
    if (ctx_size < 0) throw UsageError(fmt::format("--ctx-size must be >= 0, got {}", ctx_size));
    if (kv_type != "auto" && !kv_cache_type_from_name(kv_type))
        throw UsageError(fmt::format("--kv-type must be auto, f32, f16 or q8_0, got '{}'", kv_type));
}

SessionParams SessionFlags::params() const {
    validate();
    SessionParams sp;
    sp.context_length = ctx_size;
    if (kv_type != "auto") sp.kv_cache_type = kv_cache_type_from_name(kv_type);
    return sp;
}

}  // namespace apr::cli
