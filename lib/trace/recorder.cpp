// trace::Recorder: keeps the events of a generation for the reports.
#include <algorithm>
#include <chrono>

#include "apr/trace.hpp"

namespace apr::trace {
namespace {
int64_t steady_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}
}  // namespace

Recorder::Recorder(const RecorderOptions& options) : options_(options), start_ns_(steady_ns()) {}

double Recorder::now_ms() const { return static_cast<double>(steady_ns() - start_ns_) / 1e6; }

void Recorder::clear() {
    ops_.clear();
    passes_.clear();
    samples_.clear();
    tokenize_.clear();
    phase_ = GenerationPhase::prompt;
    start_ns_ = steady_ns();
}

void Recorder::on_phase(GenerationPhase phase) { phase_ = phase; }

void Recorder::on_tokenize(const TokenizeEvent& e) { tokenize_.push_back(e); }

void Recorder::on_batch_begin(const BatchEvent& e) {
    layers_ = e.layers;
    batch_positions_ = e.positions;
    batch_rows_ = e.rows;
    PassRecord p;
    p.phase = phase_;
    p.rows = e.rows;
    p.first_position = e.rows > 0 ? *std::min_element(e.positions, e.positions + e.rows) : 0;
    p.last_position = e.rows > 0 ? *std::max_element(e.positions, e.positions + e.rows) : 0;
    p.start_ms = now_ms();
    p.ms = 0;
    p.first_op = ops_.size();
    p.op_count = 0;
    passes_.push_back(std::move(p));
}

void Recorder::on_batch_end(const BatchEvent& e) {
    if (passes_.empty()) return;
    PassRecord& p = passes_.back();
    p.ms = e.ms;
    p.op_count = ops_.size() - p.first_op;
    batch_positions_ = nullptr;
}

void Recorder::on_op(const OpEvent& e) {
    // A device backend's op times reach the recorder at the pass's end, so
    // its start comes from the pass's start, not from the clock now.
    const double start = batch_positions_ != nullptr && !passes_.empty() ? passes_.back().start_ms + e.start_ms
                                                                         : now_ms() - e.ms;
    OpRecord r{e.op, e.layer, e.name, e.weight_type, e.weight_rows, e.weight_cols, e.kernel, e.rows, e.cols,
               start, e.ms, 0};
    if (e.op == OpKind::attention && batch_positions_ != nullptr)
        for (int64_t i = 0; i < e.rows && i < batch_rows_; ++i) r.attended += batch_positions_[i] + 1;
    ops_.push_back(r);
}

void Recorder::on_layer(const LayerEvent& e) {
    if (!options_.activation_stats || passes_.empty() || e.hidden == nullptr || e.rows <= 0) return;
    // The last row: the token whose logits the step produces.
    passes_.back().layer_stats.push_back(tensor_stats(e.hidden + (e.rows - 1) * e.cols, e.cols));
}

void Recorder::on_sample(const SampleEvent& e) {
    SampleRecord s{e.step, e.token, now_ms() - e.ms, e.ms, {}, {}};
    if (options_.top_logits > 0 && e.logits != nullptr) {
        const int64_t k = std::min<int64_t>(options_.top_logits, e.vocab);
        std::vector<TopLogit> all;
        all.reserve(static_cast<size_t>(e.vocab));
        for (int64_t i = 0; i < e.vocab; ++i) all.push_back({static_cast<int32_t>(i), e.logits[i]});
        std::partial_sort(all.begin(), all.begin() + k, all.end(), [](const TopLogit& a, const TopLogit& b) {
            return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
        });
        s.top.assign(all.begin(), all.begin() + k);
    }
    if (options_.activation_stats && e.logits != nullptr) s.logit_stats = tensor_stats(e.logits, e.vocab);
    samples_.push_back(std::move(s));
}

double Recorder::phase_ms(GenerationPhase phase) const {
    double ms = 0;
    for (const PassRecord& p : passes_)
        if (p.phase == phase) ms += p.ms;
    return ms;
}

int64_t Recorder::phase_tokens(GenerationPhase phase) const {
    int64_t n = 0;
    for (const PassRecord& p : passes_)
        if (p.phase == phase) n += p.rows;
    return n;
}

int64_t Recorder::phase_passes(GenerationPhase phase) const {
    int64_t n = 0;
    for (const PassRecord& p : passes_)
        if (p.phase == phase) ++n;
    return n;
}

double Recorder::sampling_ms() const {
    double ms = 0;
    for (const SampleRecord& s : samples_) ms += s.ms;
    return ms;
}

double Recorder::tokenize_ms() const {
    double ms = 0;
    for (const TokenizeEvent& t : tokenize_) ms += t.ms;
    return ms;
}

namespace {
bool is_ffn(const OpRecord& op) {
    if (op.op == OpKind::swiglu) return true;
    if (op.op == OpKind::add) return op.name == "ffn_residual";
    if (op.op == OpKind::matmul)
        return op.name.find("ffn_") != std::string_view::npos;
    return false;
}
}  // namespace

std::vector<LayerTiming> Recorder::layer_times(GenerationPhase phase) const {
    std::vector<LayerTiming> t(static_cast<size_t>(layers_));
    for (size_t i = 0; i < t.size(); ++i) t[i].layer = static_cast<int>(i);
    int64_t passes = 0;
    for (const PassRecord& p : passes_) {
        if (p.phase != phase) continue;
        ++passes;
        for (size_t i = p.first_op; i < p.first_op + p.op_count; ++i) {
            const OpRecord& op = ops_[i];
            if (op.layer < 0 || op.layer >= layers_) continue;
            LayerTiming& l = t[static_cast<size_t>(op.layer)];
            if (op.op == OpKind::rmsnorm) l.norm_ms += op.ms;
            else if (is_ffn(op)) l.ffn_ms += op.ms;
            else l.attn_ms += op.ms;
        }
    }
    if (phase == GenerationPhase::decode && passes > 0)
        for (LayerTiming& l : t) {
            l.attn_ms /= static_cast<double>(passes);
            l.ffn_ms /= static_cast<double>(passes);
            l.norm_ms /= static_cast<double>(passes);
        }
    return t;
}

double Recorder::pass_op_ms(const PassRecord& pass, int layer_from, int layer_to) const {
    double ms = 0;
    for (size_t i = pass.first_op; i < pass.first_op + pass.op_count; ++i)
        if (ops_[i].layer >= layer_from && ops_[i].layer <= layer_to) ms += ops_[i].ms;
    return ms;
}

}  // namespace apr::trace
