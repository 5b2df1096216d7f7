#include "serve/request_trace.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>

namespace apr::serve {
namespace {

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

double ms_between(Clock::time_point a, Clock::time_point b) {
    return b > a ? std::chrono::duration<double, std::milli>(b - a).count() : 0.0;
}

// Three decimals are plenty for milliseconds and keep the JSON short.
double round3(double v) { return std::round(v * 1000) / 1000; }

Json layer_phase_json(const trace::Recorder& rec, GenerationPhase phase) {
    const int64_t passes = rec.phase_passes(phase);
    const bool prompt = phase == GenerationPhase::prompt;
    Json p = Json::object();
    p.set("tokens", rec.phase_tokens(phase)).set("passes", passes);
    p.set("per", prompt ? "summed over the prompt's passes" : "mean per generated token");
    Json rows = Json::array();
    double layers_ms = 0;
    for (const trace::LayerTiming& l : rec.layer_times(phase)) {
        Json r = Json::object();
        r.set("layer", static_cast<int64_t>(l.layer)).set("attn_ms", round3(l.attn_ms)).set("ffn_ms", round3(l.ffn_ms));
        r.set("norm_ms", round3(l.norm_ms)).set("total_ms", round3(l.total_ms()));
        rows.push(std::move(r));
        layers_ms += l.total_ms();
    }
    double outside = 0, forward = 0;
    for (const trace::PassRecord& pass : rec.passes())
        if (pass.phase == phase) {
            outside += rec.pass_op_ms(pass, -1, -1);
            forward += pass.ms;
        }
    const double div = prompt || passes == 0 ? 1.0 : static_cast<double>(passes);
    p.set("layers", std::move(rows)).set("layers_ms", round3(layers_ms));
    p.set("outside_layers_ms", round3(outside / div)).set("forward_ms", round3(forward / div));
    return p;
}

}  // namespace

TraceAsk trace_ask(const ServeOptions& options, const httplib::Request& req) {
    TraceAsk ask;
    ask.profile = options.profile;
    if (req.has_header("X-Trace-Level")) {
        const std::string v = lower(req.get_header_value("X-Trace-Level"));
        if (v == "layer") ask.layer = true;
        else if (v != "none" && v != "off")
            throw ApiError(400, fmt::format("header X-Trace-Level: '{}' is not a trace level (layer, or none)",
                                            req.get_header_value("X-Trace-Level")),
                           "X-Trace-Level", "invalid_value");
    }
    if (req.has_header("X-Profile")) {
        const std::string v = lower(req.get_header_value("X-Profile"));
        if (v == "true" || v == "1") ask.profile = true;
        else if (v == "false" || v == "0") ask.profile = options.profile;
        else
            throw ApiError(400, fmt::format("header X-Profile: '{}' is not true or false", req.get_header_value("X-Profile")),
                           "X-Profile", "invalid_value");
    }
    return ask;
}

bool trace_records(const ServeOptions& options, const TraceAsk& ask) { return ask.record() || options.trace_layer; }

TraceFigures trace_figures(const std::vector<std::shared_ptr<Sequence>>& seqs, int64_t layers) {
    TraceFigures f;
    f.layers = layers;
    if (seqs.empty()) return f;
    const Sequence& s = *seqs[0];
    // A request that generated nothing (max_tokens 0) has no first token: its prompt ends with it.
    const Clock::time_point first = s.first_token_at == Clock::time_point{} ? s.finished_at : s.first_token_at;
    f.queue_ms = ms_between(s.queued_at, s.started_at);
    f.prompt_ms = ms_between(s.started_at, first);
    Clock::time_point finished = s.finished_at;
    for (const auto& q : seqs) {
        f.tokens += q->completion_tokens;
        finished = std::max(finished, q->finished_at);
    }
    f.generation_ms = ms_between(first, finished);
    f.total_ms = ms_between(s.queued_at, finished);
    f.prompt_tokens = s.prompt_tokens;
    f.cached_tokens = s.cached_tokens;
    const double in_slot = f.prompt_ms + f.generation_ms;
    f.tok_per_s = in_slot > 0 ? static_cast<double>(f.tokens) * 1000.0 / in_slot : 0.0;
    // One layer's time in a generation step (in the prompt's passes when nothing was generated).
    if (layers > 0) {
        const auto* rec = s.recorder.get();
        const bool decoded = rec ? rec->phase_passes(GenerationPhase::decode) > 0 : s.decode_steps > 0;
        const GenerationPhase phase = decoded ? GenerationPhase::decode : GenerationPhase::prompt;
        if (rec && rec->phase_passes(phase) > 0) {
            double ms = 0;
            for (const trace::PassRecord& p : rec->passes())
                if (p.phase == phase) ms += rec->pass_op_ms(p, 0, static_cast<int>(layers) - 1);
            f.avg_layer_ms = ms / static_cast<double>(rec->phase_passes(phase)) / static_cast<double>(layers);
            f.layer_ms_measured = true;
        } else if (const int64_t steps = decoded ? s.decode_steps : s.prompt_steps; steps > 0) {
            f.avg_layer_ms = (decoded ? s.decode_step_ms : s.prompt_step_ms) / static_cast<double>(steps) /
                             static_cast<double>(layers);
        }
    }
    return f;
}

void set_trace_headers(httplib::Response& res, const TraceFigures& f) {
    res.set_header("X-Trace-Time-Ms", fmt::format("{:.3f}", f.total_ms));
    res.set_header("X-Trace-Tokens", std::to_string(f.tokens));
    res.set_header("X-Trace-Tok-Per-Sec", fmt::format("{:.3f}", f.tok_per_s));
    res.set_header("X-Trace-Layers", std::to_string(f.layers));
    res.set_header("X-Trace-Avg-Layer-Ms", fmt::format("{:.4f}", f.avg_layer_ms));
}

Json trace_headers_json(const TraceFigures& f) {
    Json h = Json::object();
    h.set("X-Trace-Time-Ms", round3(f.total_ms)).set("X-Trace-Tokens", f.tokens);
    h.set("X-Trace-Tok-Per-Sec", round3(f.tok_per_s)).set("X-Trace-Layers", f.layers);
    h.set("X-Trace-Avg-Layer-Ms", std::round(f.avg_layer_ms * 1e4) / 1e4);
    return h;
}

Json layer_trace_json(const trace::Recorder& rec) {
    Json t = Json::object();
    t.set("layers", rec.layers());
    if (rec.phase_passes(GenerationPhase::prompt) > 0) t.set("prompt", layer_phase_json(rec, GenerationPhase::prompt));
    if (rec.phase_passes(GenerationPhase::decode) > 0)
        t.set("generation", layer_phase_json(rec, GenerationPhase::decode));
    t.set("text", trace::format_layer_table(rec));
    return t;
}

Json profile_json(const trace::Recorder& rec, const trace::MachinePeaks& peaks, double kv_value_bytes) {
    const trace::Profile profile = trace::profile_of(rec, peaks, kv_value_bytes);
    Json machine = Json::object();
    machine.set("cpu", peaks.cpu).set("threads", static_cast<int64_t>(peaks.threads));
    machine.set("bandwidth_gbs", round3(peaks.bandwidth_gbs)).set("gflops", round3(peaks.gflops));
    machine.set("cached", peaks.from_cache).set("gpu", peaks.gpu);
    Json phases = Json::array();
    for (const trace::ProfilePhase& ph : profile.phases) {
        Json classes = Json::array();
        for (const trace::ProfileClass& c : ph.classes) {
            Json j = Json::object();
            j.set("class", c.name).set("ms_per_token", c.ms_per_token).set("share", c.share);
            j.set("mb_per_token", c.mb_per_token).set("mflop_per_token", c.mflop_per_token);
            j.set("flop_per_byte", c.intensity).set("gbs", c.gbs).set("bandwidth_share", c.bandwidth_share);
            j.set("gflops", c.gflops).set("compute_share", c.compute_share);
            j.set("bound", c.memory_bound ? "memory" : "compute");
            classes.push(std::move(j));
        }
        Json p = Json::object();
        p.set("phase", ph.phase == GenerationPhase::prompt ? "prompt" : "generation").set("tokens", ph.tokens);
        p.set("ms_per_token", ph.ms_per_token).set("mb_per_token", ph.mb_per_token);
        p.set("mflop_per_token", ph.mflop_per_token).set("memory_bound_share", ph.memory_share);
        p.set("compute_bound_share", ph.compute_share).set("classes", std::move(classes));
        p.set("bottleneck", ph.bottleneck).set("bottleneck_share", ph.bottleneck_share);
        p.set("bottleneck_bound", ph.bottleneck_memory_bound ? "memory" : "compute");
        p.set("bottleneck_peak_share", ph.bottleneck_peak_share).set("recommendation", ph.recommendation);
        phases.push(std::move(p));
    }
    Json out = Json::object();
    out.set("machine", std::move(machine)).set("ridge_flop_per_byte", profile.ridge).set("phases", std::move(phases));
    out.set("text", trace::format_profile(profile));
    return out;
}

void add_trace_fields(Service& service, const TraceAsk& ask, const std::vector<std::shared_ptr<Sequence>>& seqs,
                      Json& out) {
    const trace::Recorder* rec = seqs.empty() ? nullptr : seqs[0]->recorder.get();
    if (rec == nullptr) return;
    if (ask.layer) out.set("trace", layer_trace_json(*rec));
    if (ask.profile)
        out.set("profile", profile_json(*rec, service.peaks(), kv_cache_value_bytes(service.options().session.kv_cache_type.value_or(KVCacheType::f16))));
}

void log_trace(Service& service, const std::vector<std::shared_ptr<Sequence>>& seqs, const TraceFigures& f) {
    const ServeOptions& o = service.options();
    RequestLog& log = request_log();
    if (o.trace)
        log.trace_line = fmt::format(
            "[TRACE] queue {:.1f}ms, prompt {} tokens ({} cached) in {:.1f}ms, generation {} tokens in {:.1f}ms, "
            "{:.1f} tok/s, {} layers at {:.3f}ms each{}",
            f.queue_ms, f.prompt_tokens, f.cached_tokens, f.prompt_ms, f.tokens, f.generation_ms, f.tok_per_s, f.layers,
            f.avg_layer_ms, f.layer_ms_measured ? "" : " (step time / layers)");
    if (o.trace) {
        Json j = trace_headers_json(f);
        j.set("queue_ms", round3(f.queue_ms)).set("prompt_ms", round3(f.prompt_ms));
        j.set("generation_ms", round3(f.generation_ms)).set("cached_tokens", f.cached_tokens);
        log.trace_json = j.dump();
    }
    if (o.trace_layer && !seqs.empty() && seqs[0]->recorder) log.layer_table = trace::format_layer_table(*seqs[0]->recorder);
}

}  // namespace apr::serve
