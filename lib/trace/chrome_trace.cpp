// --trace-output: the recording as Chrome Trace Event JSON, which Perfetto
// and chrome://tracing open. Complete events ("ph": "X") with microsecond
// "ts"/"dur": track 1 holds the generation phases and forward passes, track
// 2 the ops of the compute stream (the CPU backend runs ops one after the
// other, its threads working inside each op), track 3 tokenizing and sampling.
#include <fmt/format.h>

#include "apr/trace.hpp"

namespace apr::trace {
namespace {

std::string quoted(std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') out += '\\', out += static_cast<char>(c);
        else if (c < 0x20) out += fmt::format("\\u{:04x}", c);
        else out += static_cast<char>(c);
    }
    return out + "\"";
}

void event(std::string& out, bool& first, std::string_view name, std::string_view cat, int tid, double start_ms,
           double ms, const std::string& args) {
    out += first ? "\n  " : ",\n  ";
    first = false;
    out += fmt::format("{{\"name\": {}, \"cat\": {}, \"ph\": \"X\", \"pid\": 1, \"tid\": {}, \"ts\": {:.3f}, \"dur\": "
                       "{:.3f}, \"args\": {{{}}}}}",
                       quoted(name), quoted(cat), tid, start_ms * 1000.0, ms * 1000.0, args);
}

}  // namespace

std::string chrome_trace_json(const Recorder& rec, const std::string& summary_fields) {
    std::string out = "{\"traceEvents\": [";
    bool first = true;
    // Track names (metadata events).
    const char* tracks[] = {"", "forward passes", "ops (compute stream)", "tokenize + sampling"};
    for (int tid = 1; tid <= 3; ++tid) {
        out += first ? "\n  " : ",\n  ";
        first = false;
        out += fmt::format("{{\"name\": \"thread_name\", \"ph\": \"M\", \"pid\": 1, \"tid\": {}, \"ts\": 0, \"dur\": 0, "
                           "\"args\": {{\"name\": \"{}\"}}}}",
                           tid, tracks[tid]);
    }
    for (const PassRecord& p : rec.passes()) {
        const bool prompt = p.phase == GenerationPhase::prompt;
        const std::string name = prompt ? fmt::format("prompt pos {}..{}", p.first_position, p.last_position)
                                        : fmt::format("decode pos {}", p.first_position);
        event(out, first, name, prompt ? "prompt" : "decode", 1, p.start_ms, p.ms,
              fmt::format("\"tokens\": {}, \"first_position\": {}, \"layers\": {}", p.rows, p.first_position,
                          rec.layers()));
        for (size_t i = p.first_op; i < p.first_op + p.op_count; ++i) {
            const OpRecord& op = rec.ops()[i];
            std::string args = fmt::format("\"op\": {}, \"layer\": {}, \"rows\": {}, \"cols\": {}, \"kernel\": {}",
                                           quoted(op_kind_name(op.op)), op.layer, op.rows, op.cols, quoted(op.kernel));
            if (op.weight_rows > 0)
                args += fmt::format(", \"weight_type\": {}, \"weight_shape\": [{}, {}]", quoted(dtype_name(op.weight_type)),
                                    op.weight_rows, op.weight_cols);
            event(out, first, op.name, op_kind_name(op.op), 2, op.start_ms, op.ms, args);
        }
    }
    for (const SampleRecord& s : rec.samples())
        event(out, first, "sample", "sampling", 3, s.start_ms, s.ms,
              fmt::format("\"step\": {}, \"token\": {}", s.step, s.token));
    // Per-layer averages for the summary.
    std::string layers;
    const auto prompt = rec.layer_times(GenerationPhase::prompt), decode = rec.layer_times(GenerationPhase::decode);
    for (size_t i = 0; i < prompt.size(); ++i)
        layers += fmt::format("{}{{\"layer\": {}, \"prompt_ms\": {:.4f}, \"decode_ms_per_token\": {:.4f}, "
                              "\"attn_ms\": {:.4f}, \"ffn_ms\": {:.4f}, \"norm_ms\": {:.4f}}}",
                              i ? ", " : "", i, prompt[i].total_ms(), decode[i].total_ms(), decode[i].attn_ms,
                              decode[i].ffn_ms, decode[i].norm_ms);
    const int64_t pt = rec.phase_tokens(GenerationPhase::prompt), gt = rec.phase_tokens(GenerationPhase::decode);
    const double pms = rec.phase_ms(GenerationPhase::prompt), gms = rec.phase_ms(GenerationPhase::decode);
    out += fmt::format(
        "\n], \"displayTimeUnit\": \"ms\", \"summary\": {{{}{}\"layers\": {}, \"prompt_tokens\": {}, "
        "\"generated_tokens\": {}, \"prompt_ms\": {:.3f}, \"decode_ms\": {:.3f}, \"prompt_tok_per_s\": {:.3f}, "
        "\"decode_tok_per_s\": {:.3f}, \"sampling_ms\": {:.3f}, \"per_layer\": [{}]}}}}\n",
        summary_fields, summary_fields.empty() ? "" : ", ", rec.layers(), pt, rec.samples().size(), pms, gms,
        pms > 0 ? pt * 1000.0 / pms : 0.0, gms > 0 ? gt * 1000.0 / gms : 0.0, rec.sampling_ms(), layers);
    return out;
}

}  // namespace apr::trace
