// Content checks of the tracing modes' output, the same the project's
// tracing tests make (test/model/test_trace_modes.cpp,
// test/serve/test_serve_trace.cpp): numbers present and consistent, not
// banners. Each returns whether it held and, when not, what was seen.
#pragma once

#include <string>

namespace apr::qa {

struct Verdict {
    bool ok = false;
    std::string detail;  // what was seen (for the reason when it failed)
};

// --trace: every layer 0..layers-1 names its QKV kernel and weight type
// (`kernel_has`, when not empty, must appear in each kernel name), no layer
// beyond, the FFN down and LM head lines.
Verdict check_trace_kernels(const std::string& err, int layers, const std::string& kernel_has = {});
// --trace: one line per pass ("pos=0..P-1: L layers took Xms (P tokens,
// forward pass Yms)", then one per decode step), the layers' time within the
// pass's, the summary with tok/s > 0. `min_passes`: at least this many.
// `from_zero`: the first pass starts at position 0 (a fresh session).
Verdict check_trace_positions(const std::string& err, int layers, int min_passes, bool from_zero);
// --trace-level layer: `tables` tables of `layers` rows whose parts add up
// to each row's total.
Verdict check_layer_tables(const std::string& err, int layers, int tables);
// The layers plus the ops outside them within 10% of the measured pass
// time, in every table of `err`.
Verdict check_layer_totals(const std::string& err);
// --profile: the machine line (GB/s and GFLOP/s > 0), `phases` phases each
// with its bottleneck and recommendation, FFN MB per generated token > 0.
Verdict check_profile_text(const std::string& err, int phases);
// --trace-output: the file parses as Chrome trace JSON (traceEvents with
// ph/ts/dur/name/args), passes on track 1, every op on track 2, and the
// summary (layers, per_layer, tok/s, model, backend).
Verdict check_chrome_trace(const std::string& file, int layers, const std::string& model, const std::string& backend);

// apr serve: the X-Trace-* headers agree with the body (usage) and the model.
struct TraceHeaders {
    bool present = false;
    double time_ms = 0, tokens = 0, tok_s = 0, layers = 0, layer_ms = 0;
};
Verdict check_trace_headers(const TraceHeaders& h, int layers, long completion_tokens);
// The `trace` field of X-Trace-Level: layer (JSON text of the field):
// layers, prompt tokens, rows per phase adding up. `totals` gets whether the
// layers + outside ops are within 10% of the pass in both phases.
Verdict check_trace_field(const std::string& trace_json, int layers, long prompt_tokens, Verdict* totals);
// The `profile` field (JSON text): the machine's peaks, both phases with
// classes whose shares sum to 1, bottleneck and recommendation.
Verdict check_profile_field(const std::string& profile_json);

}  // namespace apr::qa
