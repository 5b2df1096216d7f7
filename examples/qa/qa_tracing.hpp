// The 15 tracing cells, 3 points each, run through the real programs (the
// `apr` binary: apr run, apr chat with piped stdin, apr serve on a free
// loopback port) and checked on content (qa_trace_checks.hpp):
//   T1-T5   run x none, --trace, --trace-level layer, --profile, --trace-output
//   T6-T9   chat x none, --trace, --trace-level layer, --profile (two turns)
//   T10-T14 serve x none (/health, X-Trace-* headers), --trace (log line),
//           --trace-level layer (log table), --profile (field), the
//           X-Trace-Level: layer request header (trace field)
//   T15     run --device cuda --trace (skipped without a GPU)
// Every cell's first point is the clean answer (stdout / the response's
// content equals the expected answer); the other two are the mode's content.
#pragma once

#include <filesystem>
#include <vector>

#include "qa_matrix.hpp"
#include "qa_options.hpp"
#include "qa_report.hpp"
#include "qa_sources.hpp"

namespace apr::qa {

std::vector<Cell> run_tracing(const QaOptions& o, const Sources& sources, const GpuState& gpu,
                              const std::filesystem::path& work);

}  // namespace apr::qa
