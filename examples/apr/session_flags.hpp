// The flags every model-running command shares for its session: context size
// and KV-cache type (run, chat, bench, serve). Declared once here so run, chat, serve and bench spell
// and check them the same way.
//
//   SessionFlags session_flags;
//   session_flags.add_to(flags);            // --ctx-size, --kv-type
//   flags.parse(args);
//   session_flags.validate();               // UsageError for a bad value (before loading)
//   apr::SessionParams sp = session_flags.params();
#pragma once

#include <cstdint>
#include <string>

#include "apr/session.hpp"
#include "flags.hpp"

namespace apr::cli {

struct SessionFlags {
    int64_t ctx_size = 0;      // 0 = the model's trained context
    std::string kv_type = "auto";  // auto | f32 | f16 | q8_0

    // Declares --ctx-size and --kv-type on `flags`. `per`: what one context
    // belongs to in the help text ("per slot" for the server), or empty.
    void add_to(Flags& flags, const std::string& per = "");
    // Throws UsageError for a negative --ctx-size or an unknown --kv-type.
    void validate() const;
    // The session parameters these flags ask for (validate() first).
    SessionParams params() const;
};

}  // namespace apr::cli
