#include "trace_flags.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "apr/device.hpp"
#include "apr/error.hpp"
#include "apr/tokenizer.hpp"
#include "json_text.hpp"

namespace apr::cli {

void TraceFlags::add_to(Flags& flags) {
    flags.add("--trace", &trace, "trace on stderr: kernels per layer, time per position, summary");
    flags.add("--trace-level", &level, "'layer': a per-layer time table", "LEVEL");
    flags.add("--profile", &profile, "roofline: bytes, FLOPs, GB/s and GFLOP/s per op class against measured peaks");
    flags.add("--trace-payload", &payload, "activation statistics per layer and top-5 logits; flags NaN/Inf/zeros");
    flags.add("--trace-output", &output, "write a Chrome trace (Perfetto, chrome://tracing) with a summary", "FILE");
    flags.add("--verbose", &verbose, "the load report (source, sizes, weight types, backend) and timings");
}

void TraceFlags::add_serve_modes_to(Flags& flags) {
    flags.add("--trace", &trace, "log each completion's timing: queue, prompt and generation ms, tokens, tok/s");
    flags.add("--trace-level", &level, "'layer': log each completion's per-layer time table", "LEVEL");
    flags.add("--profile", &profile, "return the roofline analysis (a \"profile\" field) with every completion");
}

void TraceFlags::validate() const {
    if (level && *level != "layer") throw UsageError(fmt::format("--trace-level expects 'layer', got '{}'", *level));
    if (output && output->empty()) throw UsageError("--trace-output needs a FILE");
}

std::unique_ptr<trace::Recorder> TraceFlags::make_recorder() const {
    if (!recording()) return nullptr;
    trace::RecorderOptions o;
    o.activation_stats = payload;
    o.top_logits = payload ? 5 : 0;
    return std::make_unique<trace::Recorder>(o);
}

TraceReporter::TraceReporter(const TraceFlags& flags, std::string source)
    : flags_(flags), source_(std::move(source)), start_(std::chrono::steady_clock::now()) {}

void TraceReporter::loaded(const Model& model, double load_ms) {
    if (!flags_.verbose) return;
    const ModelFile& file = model.file();
    const ModelConfig& c = model.config();
    std::error_code ec;
    uintmax_t bytes = 0;
    if (std::filesystem::is_directory(file.path(), ec)) {
        for (const auto& entry : std::filesystem::recursive_directory_iterator(file.path(), ec))
            if (entry.is_regular_file(ec)) bytes += entry.file_size(ec);
    } else {
        bytes = std::filesystem::file_size(file.path(), ec);
    }
    std::map<std::string, std::pair<int64_t, uint64_t>> types;  // type -> tensors, bytes
    for (const TensorView& t : file.tensors()) {
        auto& slot = types[std::string(dtype_name(t.dtype))];
        ++slot.first;
        slot.second += t.nbytes;
    }
    std::string type_text;
    for (const auto& [name, n] : types)
        type_text += fmt::format("{}{} x{} ({:.1f} MB)", type_text.empty() ? "" : ", ", name, n.first, n.second / 1e6);
    const Tokenizer* tok = model.tokenizer();
    fmt::print(stderr,
               "[VERBOSE] source: {} ({}, {:.1f} MB)\n"
               "[VERBOSE] architecture: {}, {} layers, hidden {}, {} heads ({} KV) of {}, FFN {}, vocab {} "
               "(tokenizer {}), context length {}\n"
               "[VERBOSE] weight types: {}\n"
               "[VERBOSE] backend: {}\n"
               "[VERBOSE] load time: {:.1f} ms\n",
               file.path().string(), file_format_name(file.format()), bytes / 1e6, c.architecture, c.num_layers,
               c.hidden_size, c.num_heads, c.num_kv_heads, c.head_dim, c.intermediate_size, c.vocab_size,
               tok ? tok->vocab_size() : 0, c.context_length, type_text, model.backend_description(), load_ms);
}

void TraceReporter::report(const trace::Recorder& rec, const Model& model, int turn, KVCacheType kv_type) {
    const std::string label = turn > 0 ? fmt::format(" turn {}", turn) : "";
    if (flags_.trace) {
        if (turn > 0) fmt::print(stderr, "[TRACE-CACHE]{}\n", label);
        fmt::print(stderr, "{}", trace::format_trace(rec));
    }
    if (flags_.level) {
        if (turn > 0) fmt::print(stderr, "[TRACE-LAYER]{}\n", label);
        fmt::print(stderr, "{}", trace::format_layer_table(rec));
    }
    if (flags_.profile) {
        if (!peaks_) peaks_ = device_peaks(model, trace::default_peaks_cache());
        if (turn > 0) fmt::print(stderr, "[PROFILE]{}\n", label);
        const trace::Profile profile = trace::profile_of(rec, *peaks_, kv_cache_value_bytes(kv_type));
        fmt::print(stderr, "{}", trace::format_profile(profile));
        // A stale peak (measured on a busy machine) heals itself: the cache
        // keeps the most this machine was seen to stream.
        const trace::MachinePeaks raised = trace::raised_peaks(profile, *peaks_);
        if (raised.bandwidth_gbs > peaks_->bandwidth_gbs) {
            trace::store_peaks(raised, trace::default_peaks_cache());
            peaks_ = raised;
        }
    }
    if (flags_.payload) {
        const int64_t tokens = model.tokenizer() ? model.tokenizer()->vocab_size() : model.config().vocab_size;
        fmt::print(stderr, "{}", trace::format_payload(rec, tokens, &payload_errors_));
    }
    if (flags_.output) {
        const ModelConfig& c = model.config();
        const std::string summary = fmt::format(
            "\"model\": {}, \"format\": {}, \"architecture\": {}, \"backend\": {}, \"threads\": {}{}",
            json_string(source_), json_string(file_format_name(model.file().format())), json_string(c.architecture),
            json_string(model.backend_description()), model.threads(), turn > 0 ? fmt::format(", \"turn\": {}", turn) : "");
        std::ofstream out(*flags_.output, std::ios::trunc);
        out << trace::chrome_trace_json(rec, summary);
        out.close();
        if (!out) throw Error(ErrorCode::io, fmt::format("{}: cannot write the trace", *flags_.output));
        fmt::print(stderr, "[TRACE] wrote {} ({} events)\n", *flags_.output, rec.ops().size() + rec.passes().size() + rec.samples().size());
    }
}

void TraceReporter::finished() const {
    if (!flags_.verbose) return;
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_).count();
    fmt::print(stderr, "[VERBOSE] total time: {:.1f} ms\n", ms);
}

}  // namespace apr::cli
