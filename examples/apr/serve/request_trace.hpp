// Tracing of `apr serve` completions (docs/tracing.md, "apr serve"):
// - every completion answers with X-Trace-Time-Ms, X-Trace-Tokens,
//   X-Trace-Tok-Per-Sec, X-Trace-Layers and X-Trace-Avg-Layer-Ms (figures
//   the scheduler measures anyway: two clock reads per batched step);
// - the request header `X-Trace-Level: layer` (or `serve --trace-level
//   layer`) records the request's ops and returns its layer table as a
//   `trace` field, `X-Profile: true` (or `serve --profile`) the roofline as
//   a `profile` field; a streamed answer carries them in a last event before
//   its end, since its headers are gone by then;
// - `serve --trace` and `--trace-level layer` add to the request's log line.
#pragma once

#include <httplib.h>

#include <memory>
#include <string>
#include <vector>

#include "serve/json.hpp"
#include "serve/service.hpp"

namespace apr::serve {

// What a request asked of its trace: the server's modes and its headers.
// A bad header value is 400 (ApiError naming the header).
struct TraceAsk {
    bool layer = false;    // a "trace" field with the layer table
    bool profile = false;  // a "profile" field with the roofline
    bool record() const { return layer || profile; }
};
TraceAsk trace_ask(const ServeOptions& options, const httplib::Request& req);
// Whether the request's ops must be recorded (the fields or the server's --trace-level).
bool trace_records(const ServeOptions& options, const TraceAsk& ask);

// The request's figures, from its sequences (n > 1: the first one's times,
// every choice's tokens).
struct TraceFigures {
    double queue_ms = 0, prompt_ms = 0, generation_ms = 0, total_ms = 0;
    int64_t prompt_tokens = 0, cached_tokens = 0, tokens = 0;
    double tok_per_s = 0;      // completion tokens per second of the time in a slot (prompt included)
    int64_t layers = 0;
    // One layer's time in a generation step (a prompt pass when nothing was
    // generated): the layers' ops when recorded, else the step time / layers.
    double avg_layer_ms = 0;
    bool layer_ms_measured = false;
};
TraceFigures trace_figures(const std::vector<std::shared_ptr<Sequence>>& seqs, int64_t layers);

// The X-Trace-* headers, and the same as a JSON object (for the last stream event).
void set_trace_headers(httplib::Response& res, const TraceFigures& f);
Json trace_headers_json(const TraceFigures& f);

// {"layers", "prompt": {tokens, passes, ms, layers: [{layer, attn_ms, ffn_ms,
// norm_ms, total_ms}], outside_ms}, "generation": {... mean per token},
// "text": the table as apr run --trace-level layer prints it}
Json layer_trace_json(const trace::Recorder& rec);
// {"machine": {...}, "ridge_flop_per_byte", "phases": [...], "text"}
Json profile_json(const trace::Recorder& rec, const trace::MachinePeaks& peaks, double kv_value_bytes);

// Adds to the response body `out` (or a last stream event) what the request
// asked for, and fills request_log()'s trace parts for the server's modes.
void add_trace_fields(Service& service, const TraceAsk& ask, const std::vector<std::shared_ptr<Sequence>>& seqs,
                      Json& out);
void log_trace(Service& service, const std::vector<std::shared_ptr<Sequence>>& seqs, const TraceFigures& f);

}  // namespace apr::serve
