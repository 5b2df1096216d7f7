// The roofline report of --profile: per op class, bytes moved and FLOPs per
// token against the machine's measured bandwidth and compute peaks.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>

#include "apr/trace.hpp"

namespace apr::trace {
namespace {

enum Class { attn_proj, ffn_proj, lm_head, attention, norm, elementwise, embed, class_count };
constexpr std::array<std::string_view, class_count> kClassNames = {
    "attention projections (QKV, O)", "FFN projections (gate, up, down)", "LM head", "attention (KV cache)",
    "RMSNorm", "elementwise (RoPE, bias, SwiGLU, add)", "embedding"};

Class class_of(const OpRecord& op) {
    switch (op.op) {
        case OpKind::matmul: return op.name.find("ffn_") != std::string_view::npos ? ffn_proj : attn_proj;
        case OpKind::lm_head: return lm_head;
        case OpKind::attention: return attention;
        case OpKind::rmsnorm: return norm;
        case OpKind::embed: return embed;
        default: return elementwise;
    }
}

double weight_bytes(const OpRecord& op) {
    const DTypeInfo* info = dtype_info(op.weight_type);
    if (info == nullptr || info->block_elements <= 0) return 0;
    return static_cast<double>(op.weight_rows) * static_cast<double>(op.weight_cols) /
           static_cast<double>(info->block_elements) * static_cast<double>(info->block_bytes);
}

struct Cost {
    double bytes = 0, flops = 0, ms = 0;
};

// Bytes and FLOPs of one op over its whole batch.
Cost cost_of(const OpRecord& op, int64_t kv_dim, double kv_bytes) {
    Cost c;
    c.ms = op.ms;
    const double rows = static_cast<double>(op.rows), cols = static_cast<double>(op.cols);
    switch (op.op) {
        case OpKind::matmul:
        case OpKind::lm_head:
            // The weight streams once per pass; activations in and out in f32.
            c.bytes = weight_bytes(op) + rows * (static_cast<double>(op.weight_cols) + cols) * 4;
            c.flops = 2.0 * rows * static_cast<double>(op.weight_rows) * static_cast<double>(op.weight_cols);
            break;
        case OpKind::attention:
            // Each row reads the keys and values of every position it attends to.
            c.bytes = static_cast<double>(op.attended) * static_cast<double>(kv_dim) * 2 * kv_bytes + rows * cols * 8;
            c.flops = 4.0 * static_cast<double>(op.attended) * cols;  // Q.K and P.V per query value
            break;
        case OpKind::embed:
            c.bytes = rows * cols * 4 * 2;
            c.flops = 0;
            break;
        case OpKind::rmsnorm: c.bytes = rows * cols * 8; c.flops = rows * cols * 4; break;
        case OpKind::rope: c.bytes = rows * cols * 8; c.flops = rows * cols * 6; break;
        case OpKind::swiglu: c.bytes = rows * cols * 12; c.flops = rows * cols * 5; break;
        default: c.bytes = rows * cols * 12; c.flops = rows * cols; break;  // add, bias
    }
    return c;
}

// What to try next, for the phase's bottleneck class `worst`. On a GPU a
// decode step is hundreds of short kernels: below the card's bandwidth the
// time goes to launches and kernels too small to fill it, not to a lack of
// threads.
std::string recommendation(Class worst, const ProfilePhase& ph, bool gpu) {
    if (worst == attention)
        return fmt::format("attention over the KV cache dominates{}: shorter contexts, or an f16 / q8_0 KV cache "
                           "(--kv-type), move fewer bytes",
                           gpu ? " on the GPU" : "");
    if (ph.bottleneck_memory_bound && ph.bottleneck_peak_share < 0.6)
        return gpu ? fmt::format("the kernels reach {:.0f}% of the card's measured bandwidth: each step is many short "
                                 "kernels, so launch gaps and products too small to fill the card cost more than the "
                                 "bytes; batching requests (apr serve --parallel) gives every kernel more work",
                                 100 * ph.bottleneck_peak_share)
                   : fmt::format("the kernels reach {:.0f}% of the measured bandwidth: more threads (--threads) or "
                                 "faster kernels would help before the memory limit does",
                                 100 * ph.bottleneck_peak_share);
    if (ph.bottleneck_memory_bound)
        return gpu ? "near the card's bandwidth ceiling: fewer bytes per weight (a smaller quantization such as Q4_K) "
                     "or batching requests (apr serve --parallel), which shares each weight read, is the lever"
                   : "near the bandwidth ceiling: fewer bytes per weight (a smaller quantization such as Q4_K) or a "
                     "GPU is the lever; batching requests (apr serve --parallel) shares each weight read";
    return gpu ? "compute-bound on the tensor cores: the prompt's products run near the card's f16 rate; bigger "
                 "batches will not help"
               : "compute-bound: larger SIMD (AVX-512), more threads or a GPU help; bigger batches will not";
}

}  // namespace

Profile profile_of(const Recorder& rec, const MachinePeaks& peaks, double kv_value_bytes) {
    Profile out;
    out.peaks = peaks;
    const double ridge = out.ridge = peaks.gflops / std::max(peaks.bandwidth_gbs, 1e-9);
    int64_t kv_dim = 0;
    for (const OpRecord& op : rec.ops())
        if (op.op == OpKind::matmul && op.name.find("attn_k.") != std::string_view::npos) {
            kv_dim = op.weight_rows;
            break;
        }
    const double kv_bytes = kv_value_bytes;

    for (GenerationPhase phase : {GenerationPhase::prompt, GenerationPhase::decode}) {
        const int64_t tokens = rec.phase_tokens(phase);
        if (tokens == 0) continue;
        std::array<Cost, class_count> costs{};
        int64_t passes = 0;
        for (const PassRecord& p : rec.passes()) {
            if (p.phase != phase) continue;
            ++passes;
            for (size_t i = p.first_op; i < p.first_op + p.op_count; ++i) {
                const OpRecord& op = rec.ops()[i];
                const Cost c = cost_of(op, kv_dim, kv_bytes);
                Cost& total = costs[class_of(op)];
                total.bytes += c.bytes;
                total.flops += c.flops;
                total.ms += c.ms;
            }
        }
        double all_ms = 0, all_bytes = 0, all_flops = 0;
        for (const Cost& c : costs) {
            all_ms += c.ms;
            all_bytes += c.bytes;
            all_flops += c.flops;
        }
        const double per = static_cast<double>(tokens);
        ProfilePhase ph;
        ph.phase = phase;
        ph.tokens = tokens;
        ph.ms_per_token = all_ms / per;
        ph.mb_per_token = all_bytes / per / 1e6;
        ph.mflop_per_token = all_flops / per / 1e6;
        ph.mb_per_pass = passes > 0 ? all_bytes / static_cast<double>(passes) / 1e6 : 0;
        ph.gbs = all_ms > 0 ? all_bytes / (all_ms * 1e-3) / 1e9 : 0;
        ph.fits_in_cache = peaks.llc_bytes > 0 && ph.mb_per_pass * 1e6 <= static_cast<double>(peaks.llc_bytes);
        if (!peaks.gpu && !ph.fits_in_cache && peaks.llc_bytes > 0 && ph.gbs > peaks.bandwidth_gbs)
            out.memory_gbs_above_peak = std::max(out.memory_gbs_above_peak, ph.gbs);
        double memory_ms = 0, compute_ms = 0;
        int worst = 0;
        for (int k = 0; k < class_count; ++k) {
            const Cost& c = costs[static_cast<size_t>(k)];
            if (c.ms <= 0 && c.bytes <= 0) continue;
            if (c.ms > costs[static_cast<size_t>(worst)].ms) worst = k;
            ProfileClass pc;
            pc.name = kClassNames[static_cast<size_t>(k)];
            pc.intensity = c.bytes > 0 ? c.flops / c.bytes : 0;
            pc.memory_bound = pc.intensity < ridge;
            (pc.memory_bound ? memory_ms : compute_ms) += c.ms;
            pc.gbs = c.ms > 0 ? c.bytes / (c.ms * 1e-3) / 1e9 : 0;
            pc.gflops = c.ms > 0 ? c.flops / (c.ms * 1e-3) / 1e9 : 0;
            pc.ms_per_token = c.ms / per;
            pc.share = all_ms > 0 ? c.ms / all_ms : 0;
            pc.mb_per_token = c.bytes / per / 1e6;
            pc.mflop_per_token = c.flops / per / 1e6;
            pc.bandwidth_share = pc.gbs / std::max(peaks.bandwidth_gbs, 1e-9);
            pc.compute_share = pc.gflops / std::max(peaks.gflops, 1e-9);
            ph.classes.push_back(pc);
        }
        const Cost& w = costs[static_cast<size_t>(worst)];
        const double w_gbs = w.ms > 0 ? w.bytes / (w.ms * 1e-3) / 1e9 : 0;
        const double w_gflops = w.ms > 0 ? w.flops / (w.ms * 1e-3) / 1e9 : 0;
        ph.memory_share = all_ms > 0 ? memory_ms / all_ms : 0;
        ph.compute_share = all_ms > 0 ? compute_ms / all_ms : 0;
        ph.bottleneck = kClassNames[static_cast<size_t>(worst)];
        ph.bottleneck_share = all_ms > 0 ? w.ms / all_ms : 0;
        ph.bottleneck_memory_bound = (w.bytes > 0 ? w.flops / w.bytes : 0) < ridge;
        ph.bottleneck_peak_share = ph.bottleneck_memory_bound ? w_gbs / std::max(peaks.bandwidth_gbs, 1e-9)
                                                              : w_gflops / std::max(peaks.gflops, 1e-9);
        ph.recommendation = recommendation(static_cast<Class>(worst), ph, peaks.gpu);
        out.phases.push_back(std::move(ph));
    }
    return out;
}

std::string format_profile(const Profile& profile) {
    const MachinePeaks& peaks = profile.peaks;
    std::string out =
        peaks.gpu ? fmt::format("[PROFILE] machine: {} (GPU): {:.1f} GB/s read bandwidth, {:.1f} GFLOP/s f16 "
                                "tensor-core multiply-add (measured on the card{}); ridge point {:.1f} FLOP/byte\n",
                                peaks.cpu, peaks.bandwidth_gbs, peaks.gflops, peaks.from_cache ? ", cached" : " now",
                                profile.ridge)
                  : fmt::format("[PROFILE] machine: {}, {} threads: {:.1f} GB/s read bandwidth, {:.1f} GFLOP/s f32 "
                                "FMA (measured{}); ridge point {:.1f} FLOP/byte\n",
                                peaks.cpu, peaks.threads, peaks.bandwidth_gbs, peaks.gflops,
                                peaks.from_cache ? ", cached" : " now", profile.ridge);
    for (const ProfilePhase& ph : profile.phases) {
        out += fmt::format("[PROFILE] {}: {} tokens, {:.3f} ms of ops per token, {:.2f} MB and {:.2f} MFLOP per token\n",
                           ph.phase == GenerationPhase::prompt ? "prompt" : "generation", ph.tokens, ph.ms_per_token,
                           ph.mb_per_token, ph.mflop_per_token);
        out += "op class                              | ms/token | share | MB/token | MFLOP/token | FLOP/B |   GB/s | %BW  | GFLOP/s | %FLOP | bound\n";
        for (const ProfileClass& c : ph.classes)
            out += fmt::format("{:<37} | {:>8.4f} | {:>4.1f}% | {:>8.3f} | {:>11.3f} | {:>6.2f} | {:>6.1f} | {:>3.0f}% | {:>7.1f} | {:>4.0f}% | {}\n",
                               c.name, c.ms_per_token, 100 * c.share, c.mb_per_token, c.mflop_per_token, c.intensity,
                               c.gbs, 100 * c.bandwidth_share, c.gflops, 100 * c.compute_share,
                               c.memory_bound ? "memory" : "compute");
        out += fmt::format("[PROFILE] {:.0f}% of the time in memory-bound ops, {:.0f}% in compute-bound ops\n",
                           100 * ph.memory_share, 100 * ph.compute_share);
        out += fmt::format("[PROFILE] bottleneck: {} ({:.0f}% of the time, {}-bound at {:.0f}% of the {} peak)\n",
                           ph.bottleneck, 100 * ph.bottleneck_share, ph.bottleneck_memory_bound ? "memory" : "compute",
                           100 * ph.bottleneck_peak_share, ph.bottleneck_memory_bound ? "bandwidth" : "compute");
        out += "[PROFILE] recommendation: " + ph.recommendation + "\n";
        if (ph.fits_in_cache && ph.bottleneck_memory_bound && ph.bottleneck_peak_share > 1)
            out += fmt::format("[PROFILE] note: a pass moves {:.1f} MB, which fits in the {:.0f} MB {}, so "
                               "memory-bound ops run above the memory bandwidth peak\n",
                               ph.mb_per_pass, static_cast<double>(peaks.llc_bytes) / (1 << 20),
                               peaks.gpu ? "L2 cache of the card" : "last-level cache");
    }
    if (profile.memory_gbs_above_peak > 0)
        out += fmt::format("[PROFILE] note: this run streamed {:.1f} GB/s from memory, more than the {:.1f} GB/s "
                           "peak{}: the peak was measured while the machine was busy; the figures above use it, "
                           "later runs use the higher one\n",
                           profile.memory_gbs_above_peak, peaks.bandwidth_gbs, peaks.from_cache ? " cached" : "");
    // Every pass has tokens, so a recording with a pass has a phase.
    if (profile.phases.empty()) out += "[PROFILE] no forward pass was run\n";
    return out;
}

std::string format_profile(const Recorder& rec, const MachinePeaks& peaks, double kv_value_bytes) {
    return format_profile(profile_of(rec, peaks, kv_value_bytes));
}

MachinePeaks raised_peaks(const Profile& profile, MachinePeaks peaks) {
    peaks.bandwidth_gbs = std::max(peaks.bandwidth_gbs, profile.memory_gbs_above_peak);
    return peaks;
}

}  // namespace apr::trace
