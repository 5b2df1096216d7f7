// The tracing flags of apr run and apr chat (docs/tracing.md), declared once:
//   --trace               kernels of the first pass, one line per position, a summary
//   --trace-level layer   per-layer table (Attn / FFN / Norm / Total)
//   --profile             roofline against the machine's measured (cached) peaks
//   --trace-payload       activation statistics per layer, top-5 logits, errors flagged
//   --trace-output FILE   Chrome trace JSON + summary (combines with the others)
//   --verbose             the load report and total time
// Everything goes to stderr; stdout keeps the clean answer.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "apr/model.hpp"
#include "apr/session.hpp"
#include "apr/trace.hpp"
#include "flags.hpp"

namespace apr::cli {

struct TraceFlags {
    bool trace = false, profile = false, payload = false, verbose = false;
    std::optional<std::string> level;   // "layer"
    std::optional<std::string> output;  // Chrome trace JSON file

    void add_to(Flags& flags);
    // apr serve's modes: --trace, --trace-level layer and --profile only.
    void add_serve_modes_to(Flags& flags);
    void validate() const;  // UsageError for an unknown --trace-level
    // Whether any mode needs a recording of the forward passes.
    bool recording() const { return trace || profile || payload || level || output; }
    // The recorder those modes need (null when none).
    std::unique_ptr<trace::Recorder> make_recorder() const;
};

// Prints what the modes ask for after a generation (a run, or one chat turn:
// `turn` >= 1 labels it) and writes --trace-output. `kv_type`: the session's
// KV cache type for the profile's byte counts.
class TraceReporter {
public:
    TraceReporter(const TraceFlags& flags, std::string source);
    // --verbose: call right after loading.
    void loaded(const Model& model, double load_ms);
    void report(const trace::Recorder& rec, const Model& model, int turn, KVCacheType kv_type);
    // --verbose: the total time at the end.
    void finished() const;
    // --trace-payload: errors flagged in the last report.
    int64_t payload_errors() const { return payload_errors_; }

private:
    const TraceFlags& flags_;
    std::string source_;
    std::chrono::steady_clock::time_point start_;
    std::optional<trace::MachinePeaks> peaks_;
    int64_t payload_errors_ = 0;
};

}  // namespace apr::cli
