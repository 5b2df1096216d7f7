// The text reports of --trace, --trace-level layer and --trace-payload.
#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "apr/trace.hpp"

namespace apr::trace {
namespace {

double tok_per_s(int64_t tokens, double ms) { return ms > 0 ? tokens * 1000.0 / ms : 0.0; }

// The part of a layer an op belongs to, for the kernel lines of --trace.
std::string_view part_of(const OpRecord& op) {
    if (op.op == OpKind::matmul) {
        if (op.name.find("attn_q.") != std::string_view::npos || op.name.find("attn_k.") != std::string_view::npos ||
            op.name.find("attn_v.") != std::string_view::npos)
            return "QKV projection";
        if (op.name.find("attn_output") != std::string_view::npos) return "attention output projection";
        if (op.name.find("ffn_gate") != std::string_view::npos || op.name.find("ffn_up") != std::string_view::npos)
            return "FFN gate/up projection";
        if (op.name.find("ffn_down") != std::string_view::npos) return "FFN down projection";
        return "projection";
    }
    switch (op.op) {
        case OpKind::attention: return "attention";
        case OpKind::rmsnorm: return "RMSNorm";
        case OpKind::rope: return "RoPE";
        case OpKind::swiglu: return "SwiGLU";
        case OpKind::bias: return "bias";
        case OpKind::add: return "residual add";
        default: return op_kind_name(op.op);
    }
}

std::string positions_text(const PassRecord& p) {
    return p.first_position == p.last_position ? fmt::format("pos={}", p.first_position)
                                               : fmt::format("pos={}..{}", p.first_position, p.last_position);
}

}  // namespace

std::string format_trace(const Recorder& rec) {
    std::string out;
    const auto& passes = rec.passes();
    if (passes.empty()) return "[TRACE-CACHE] no forward pass was run\n";
    // The kernels of the first pass, one line per layer part (in order of first use).
    const PassRecord& first = passes.front();
    std::vector<std::pair<int, std::string>> seen;
    for (size_t i = first.first_op; i < first.first_op + first.op_count; ++i) {
        const OpRecord& op = rec.ops()[i];
        const std::string_view part = part_of(op);
        std::string line;
        if (op.layer < 0) {
            if (op.op == OpKind::embed) line = fmt::format("[TRACE-CACHE] Embedding: {} rows using {} ({})", op.rows, dtype_name(op.weight_type), op.kernel);
            else if (op.op == OpKind::lm_head) line = fmt::format("[TRACE-CACHE] LM head: {} x {} using {} ({})", op.weight_rows, op.weight_cols, dtype_name(op.weight_type), op.kernel);
            else line = fmt::format("[TRACE-CACHE] Output norm: {} ({})", part, op.kernel);
        } else if (op.op == OpKind::matmul) {
            line = fmt::format("[TRACE-CACHE] Layer {}: {} using {} ({})", op.layer, part, dtype_name(op.weight_type), op.kernel);
        } else {
            line = fmt::format("[TRACE-CACHE] Layer {}: {} ({})", op.layer, part, op.kernel);
        }
        if (std::find_if(seen.begin(), seen.end(), [&](const auto& s) { return s.first == op.layer && s.second == line; }) ==
            seen.end()) {
            seen.emplace_back(op.layer, line);
            out += line + "\n";
        }
    }
    for (const PassRecord& p : passes) {
        const double layers_ms = rec.pass_op_ms(p, 0, static_cast<int>(rec.layers()) - 1);
        out += fmt::format("[TRACE-CACHE] {}: {} layers took {:.3f}ms ({} token{}, forward pass {:.3f}ms)\n",
                           positions_text(p), rec.layers(), layers_ms, p.rows, p.rows == 1 ? "" : "s", p.ms);
    }
    const int64_t pt = rec.phase_tokens(GenerationPhase::prompt), gt = rec.phase_tokens(GenerationPhase::decode);
    const double pms = rec.phase_ms(GenerationPhase::prompt), gms = rec.phase_ms(GenerationPhase::decode);
    out += fmt::format("[TRACE-CACHE] summary: prompt {} tokens in {:.3f}ms ({:.1f} tok/s); generation {} tokens in "
                       "{:.3f}ms ({:.1f} tok/s); sampling {:.3f}ms over {} steps; tokenize {:.3f}ms\n",
                       pt, pms, tok_per_s(pt, pms), gt, gms, tok_per_s(gt, gms), rec.sampling_ms(),
                       rec.samples().size(), rec.tokenize_ms());
    return out;
}

std::string format_layer_table(const Recorder& rec) {
    std::string out;
    for (GenerationPhase phase : {GenerationPhase::prompt, GenerationPhase::decode}) {
        const int64_t passes = rec.phase_passes(phase);
        if (passes == 0) continue;
        const bool prompt = phase == GenerationPhase::prompt;
        out += prompt ? fmt::format("[TRACE-LAYER] prompt: {} tokens in {} pass{} (times summed)\n",
                                    rec.phase_tokens(phase), passes, passes == 1 ? "" : "es")
                      : fmt::format("[TRACE-LAYER] generation: mean per token over {} tokens\n", passes);
        out += "Layer | Attn (ms) | FFN (ms) | Norm (ms) | Total (ms)\n";
        double attn = 0, ffn = 0, norm = 0;
        for (const LayerTiming& l : rec.layer_times(phase)) {
            out += fmt::format("{:>5} | {:>9.3f} | {:>8.3f} | {:>9.3f} | {:>10.3f}\n", l.layer, l.attn_ms, l.ffn_ms,
                               l.norm_ms, l.total_ms());
            attn += l.attn_ms;
            ffn += l.ffn_ms;
            norm += l.norm_ms;
        }
        out += fmt::format("  all | {:>9.3f} | {:>8.3f} | {:>9.3f} | {:>10.3f}\n", attn, ffn, norm, attn + ffn + norm);
        double outside = 0, forward = 0;
        for (const PassRecord& p : rec.passes())
            if (p.phase == phase) {
                outside += rec.pass_op_ms(p, -1, -1);
                forward += p.ms;
            }
        const double div = prompt ? 1.0 : static_cast<double>(passes);
        out += fmt::format("embedding + output norm + LM head: {:.3f} ms; layers + those: {:.3f} ms; forward pass "
                           "measured: {:.3f} ms\n",
                           outside / div, attn + ffn + norm + outside / div, forward / div);
    }
    if (out.empty()) out = "[TRACE-LAYER] no forward pass was run\n";
    return out;
}

std::string format_payload(const Recorder& rec, int64_t token_count, int64_t* errors_out) {
    std::string out;
    int64_t errors = 0;
    auto stats_line = [&](const std::string& where, const TensorStats& s) {
        std::string flags;
        if (s.nan > 0) flags += fmt::format(" ERROR: {} NaN", s.nan);
        if (s.inf > 0) flags += fmt::format(" ERROR: {} Inf", s.inf);
        if (s.all_zero()) flags += " ERROR: all zeros";
        if (!flags.empty()) ++errors;
        out += fmt::format("[TRACE-PAYLOAD]   {:<14} min={:<10.4g} max={:<10.4g} mean={:<10.4g} std={:<10.4g} nan={} inf={}{}\n",
                           where, s.min, s.max, s.mean, s.std, s.nan, s.inf, flags);
    };
    const auto& samples = rec.samples();
    size_t sample = 0;
    for (const PassRecord& p : rec.passes()) {
        out += fmt::format("[TRACE-PAYLOAD] {} {}:\n", p.phase == GenerationPhase::prompt ? "prompt" : "step",
                           p.first_position == p.last_position ? fmt::format("pos={}", p.first_position)
                                                               : fmt::format("pos={}..{}", p.first_position, p.last_position));
        for (size_t i = 0; i < p.layer_stats.size(); ++i) {
            const std::string where = i == 0 ? "embedding" : i == p.layer_stats.size() - 1 && i > static_cast<size_t>(rec.layers())
                                                                 ? "final norm"
                                                                 : fmt::format("layer {}", i - 1);
            stats_line(where, p.layer_stats[i]);
        }
        if (p.layer_stats.empty()) out += "[TRACE-PAYLOAD]   (no activation statistics: outputs not readable)\n";
        // The sampling step that used this pass's logits.
        if (sample < samples.size() && (p.phase == GenerationPhase::decode || &p == &rec.passes().back() ||
                                        (&p + 1)->phase == GenerationPhase::decode)) {
            const SampleRecord& s = samples[sample++];
            std::string top;
            for (const TopLogit& t : s.top) top += fmt::format(" {}:{:.3f}", t.id, t.logit);
            if (s.logit_stats.count > 0) stats_line("logits", s.logit_stats);
            std::string flag;
            if (s.token < 0 || s.token >= token_count) {
                flag = fmt::format(" ERROR: id {} is outside the vocabulary (0..{})", s.token, token_count - 1);
                ++errors;
            }
            for (const TopLogit& t : s.top)
                if (t.id >= token_count) {
                    flag += fmt::format(" ERROR: top id {} is outside the vocabulary", t.id);
                    ++errors;
                    break;
                }
            out += fmt::format("[TRACE-PAYLOAD]   sampled {} top-{}:{}{}\n", s.token, s.top.size(), top, flag);
        }
    }
    out += fmt::format("[TRACE-PAYLOAD] {} error{}\n", errors, errors == 1 ? "" : "s");
    if (errors_out != nullptr) *errors_out = errors;
    return out;
}

}  // namespace apr::trace
