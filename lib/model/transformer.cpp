#include "model/transformer.hpp"

#include <algorithm>
#include <memory>
#include <vector>

namespace apr::model {

namespace {

// A slice of a stage's one activation allocation (see ForwardBuffers).
class BufferView final : public Buffer {
public:
    explicit BufferView(float* p) : p_(p) {}
    float* data() override { return p_; }

private:
    float* p_;
};

// Floats rounded up to 256 bytes, so every slice keeps an allocation's alignment.
int64_t aligned(int64_t floats) { return (floats + 63) / 64 * 64; }

}  // namespace

ForwardBuffers::ForwardBuffers(const ModelWeights& w, const ModelConfig& c, int64_t cap)
    : capacity(cap), logit_capacity(std::min<int64_t>(cap, 16)) {
    const int64_t q_dim = c.num_heads * c.head_dim;
    const int64_t kv_dim = c.num_kv_heads * c.head_dim;
    // One allocation per stage, buffers whose lifetimes in a forward pass do
    // not overlap sharing memory (on a GPU the 512-token batch of a 1.5B
    // model takes 41 MiB instead of 63). x and xn live through each layer;
    // region A holds q, k, v, attn during attention, gate during the MLP and
    // `selected` at the LM head; region B holds tmp (the attention and MLP
    // outputs before their residual add: the MLP's after swiglu has read up),
    // up during the MLP and the logits. Every op reads and writes distinct
    // slices, so no kernel sees its output alias its input.
    const int64_t hidden = aligned(cap * c.hidden_size);
    const int64_t q_size = aligned(cap * q_dim), kv_size = aligned(cap * kv_dim);
    const int64_t inter = aligned(cap * c.intermediate_size);
    for (size_t s = 0; s < w.stages.size(); ++s) {
        Backend& backend = *w.stages[s].backend;
        const bool last = s + 1 == w.stages.size();
        const int64_t a = std::max({inter, 2 * q_size + 2 * kv_size, last ? hidden : 0});
        const int64_t b_size = std::max({inter, hidden, last ? aligned(logit_capacity * c.vocab_size) : 0});
        Set& b = stages.emplace_back();
        b.memory = backend.alloc(2 * hidden + a + b_size);
        float* base = b.memory->data();
        auto view = [](float* p) { return std::make_unique<BufferView>(p); };
        float* region_a = base + 2 * hidden;
        float* region_b = region_a + a;
        b.x = view(base);
        b.xn = view(base + hidden);
        b.q = view(region_a);
        b.k = view(region_a + q_size);
        b.v = view(region_a + q_size + kv_size);
        b.attn = view(region_a + q_size + 2 * kv_size);
        b.gate = view(region_a);
        b.tmp = view(region_b);
        b.up = view(region_b);
        if (last) {
            b.selected = view(region_a);
            b.logits = view(region_b);
        }
    }
    if (w.stages.size() > 1) handoff.resize(static_cast<size_t>(cap * c.hidden_size));
}

StagedKVCache::StagedKVCache(std::vector<std::unique_ptr<KVCache>> parts) : parts_(std::move(parts)) {
    layout_ = parts_.front()->layout();
    layout_.layers = 0;
    for (const auto& p : parts_) layout_.layers += p->layout().layers;
}

void StagedKVCache::resize(int64_t positions) {
    const int64_t before = held_positions();
    size_t done = 0;
    try {
        for (; done < parts_.size(); ++done) parts_[done]->resize(positions);
    } catch (...) {
        // Back to the blocks held before (shrinking takes no memory).
        for (size_t i = 0; i < done; ++i) parts_[i]->resize(std::min(before, positions));
        throw;
    }
}

int64_t StagedKVCache::bytes() const {
    int64_t total = 0;
    for (const auto& p : parts_) total += p->bytes();
    return total;
}

std::unique_ptr<KVCache> make_kv_cache(const ModelWeights& w, const ModelConfig& c, int64_t capacity, KVCacheType type) {
    auto layout_of = [&](int64_t layers) { return KVLayout{layers, c.num_kv_heads, c.head_dim, type}; };
    if (w.stages.size() == 1) return w.stages[0].backend->make_kv_cache(layout_of(c.num_layers), capacity);
    std::vector<std::unique_ptr<KVCache>> parts;
    for (const Stage& st : w.stages) parts.push_back(st.backend->make_kv_cache(layout_of(st.end_layer - st.first_layer), capacity));
    return std::make_unique<StagedKVCache>(std::move(parts));
}

namespace {

// Reports ops to the observer; free when there is none (one null check per
// op, no clock reads). With an observer, each op is timed by the backend's
// op timer: a mark before the op is issued and one after. A deferred
// (device) timer's times are asked for at the pass's end, so its op and layer
// events are held until then and delivered in their order; when the observer
// wants outputs, copying each one to the host waits for the device anyway, so
// they go out at once.
class Tracer {
public:
    Tracer(Observer* observer, Backend& backend, const Batch& batch, const ModelConfig& c)
        : observer_(observer), backend_(&backend), positions_(batch.positions.data()) {
        if (observer_ == nullptr) return;
        wants_outputs_ = observer_->wants_outputs();
        event_ = BatchEvent{static_cast<int64_t>(batch.tokens.size()), positions_,
                            static_cast<int64_t>(batch.seqs.size()), c.num_layers, 0};
        observer_->on_batch_begin(event_);
        batch_timer_ = backend.make_op_timer();
        batch_start_ = batch_timer_->mark();
        use_timer(backend);
    }
    // The ops that follow run on `backend` (the next stage of a split model).
    void use(Backend& backend) {
        if (observer_ == nullptr || &backend == backend_) return;
        backend_ = &backend;
        use_timer(backend);
    }
    void finish() {
        if (observer_ == nullptr) return;
        const OpTimer::Mark end = batch_timer_->mark();
        deliver_held();
        event_.ms = batch_timer_->ms(batch_start_, end);
        observer_->on_batch_end(event_);
    }
    void start() {
        if (observer_ != nullptr) from_ = timer_->mark();
    }
    // The op just issued: `w` is its weight (null for weightless ops).
    void op(OpKind kind, int layer, std::string_view name, const float* out, int64_t rows, int64_t cols,
            const Weight* w = nullptr) {
        if (observer_ == nullptr) return;
        const OpTimer::Mark to = timer_->mark();
        OpEvent e{};
        e.op = kind;
        e.layer = layer;
        e.name = name;
        e.output = host(out, rows * cols);
        e.rows = rows;
        e.cols = cols;
        if (w != nullptr) {
            e.weight_type = w->type;
            e.weight_rows = w->rows;
            e.weight_cols = w->cols;
        }
        e.kernel = backend_->kernel_name(kind, e.weight_type);
        if (hold_) {
            held_.push_back({e, timer_.get(), stage_offset_ms_, stage_start_, from_, to, {}});
            return;
        }
        e.ms = timer_->ms(from_, to);
        e.start_ms = stage_offset_ms_ + timer_->ms(stage_start_, from_);
        observer_->on_op(e);
    }
    void layer(LayerStage stage, int index, const float* hidden, int64_t rows, int64_t cols) {
        if (observer_ == nullptr) return;
        const LayerEvent e{stage, index, host(hidden, rows * cols), rows, cols, positions_};
        if (hold_) held_.push_back({{}, nullptr, 0, 0, 0, 0, e});
        else observer_->on_layer(e);
    }

private:
    // An op (timer set) or a layer event held for the pass's end.
    struct Held {
        OpEvent op;
        OpTimer* timer;
        double stage_offset_ms;
        OpTimer::Mark stage_start, from, to;
        LayerEvent layer;
    };

    void deliver_held() {
        for (Held& h : held_) {
            if (h.timer == nullptr) {
                observer_->on_layer(h.layer);
                continue;
            }
            h.op.ms = h.timer->ms(h.from, h.to);
            h.op.start_ms = h.stage_offset_ms + h.timer->ms(h.stage_start, h.from);
            observer_->on_op(h.op);
        }
        held_.clear();
    }
    void use_timer(Backend& backend) {
        deliver_held();  // a split model's next stage: its events must come after these
        // Ops' starts count from the pass's start: a later stage's timer
        // starts at its own mark, which is this far into the pass.
        stage_offset_ms_ = timer_ == nullptr ? 0 : batch_timer_->ms(batch_start_, batch_timer_->mark());
        timer_ = backend.make_op_timer();
        stage_start_ = timer_->mark();
        copy_outputs_ = !backend.host_memory() && wants_outputs_;
        hold_ = timer_->deferred() && !copy_outputs_;
    }
    const float* host(const float* data, int64_t n) {
        if (backend_->host_memory()) return data;
        if (!copy_outputs_) return nullptr;
        copy_.resize(static_cast<size_t>(n));
        backend_->to_host(data, n, copy_.data());
        return copy_.data();
    }

    Observer* observer_;
    Backend* backend_;
    const int32_t* positions_;
    std::unique_ptr<OpTimer> timer_, batch_timer_;
    OpTimer::Mark from_ = 0, batch_start_ = 0, stage_start_ = 0;
    double stage_offset_ms_ = 0;
    bool wants_outputs_ = false, copy_outputs_ = false, hold_ = false;
    std::vector<Held> held_;
    BatchEvent event_{};
    std::vector<float> copy_;
};

}  // namespace

void forward(const ModelConfig& c, const ModelWeights& w, ForwardBuffers& buf, const Batch& batch, Observer* observer,
             float* logits_host, int32_t* argmax_host) {
    const int64_t n = static_cast<int64_t>(batch.tokens.size());
    const int64_t d = c.hidden_size;
    const int64_t q_dim = c.num_heads * c.head_dim;
    const int64_t kv_dim = c.num_kv_heads * c.head_dim;
    const int64_t inter = c.intermediate_size;
    const float eps = static_cast<float>(c.rms_norm_eps);
    const float theta = static_cast<float>(c.rope_theta);
    const AttentionShape shape{c.num_heads, c.num_kv_heads, c.head_dim};
    const size_t n_stages = w.stages.size();
    const bool split = n_stages > 1;
    Tracer trace(observer, *w.stages[0].backend, batch, c);
    const int64_t m = static_cast<int64_t>(batch.logit_rows.size());
    std::vector<SeqSlice> stage_seqs;  // a split model's per-stage caches

    for (size_t s = 0; s < n_stages; ++s) {
        const Stage& stage = w.stages[s];
        Backend& be = *stage.backend;
        ForwardBuffers::Set& b = buf.stages[s];
        const bool last = s + 1 == n_stages;
        trace.use(be);
        std::span<const SeqSlice> seqs = batch.seqs;
        if (split) {
            stage_seqs.clear();
            for (const SeqSlice& q : batch.seqs)
                stage_seqs.push_back({static_cast<const StagedKVCache*>(q.cache)->part(s), q.first, q.count});
            seqs = stage_seqs;
        }

        float* x = b.x->data();
        float* xn = b.xn->data();
        float* q = b.q->data();
        float* k = b.k->data();
        float* v = b.v->data();
        float* attn = b.attn->data();
        float* tmp = b.tmp->data();
        float* gate = b.gate->data();
        float* up = b.up->data();
        float* selected = last ? b.selected->data() : nullptr;
        float* logits = last ? b.logits->data() : nullptr;

        const float* const buffer_ptrs[] = {x, xn, q, k, v, attn, tmp, gate, up, selected, logits};
        // A step can be recorded and replayed when one backend runs all of
        // it and its LM head runs in one pass.
        const BatchInfo info{batch.tokens, batch.positions, seqs, batch.logit_rows, buffer_ptrs,
                             observer == nullptr && m <= buf.logit_capacity && !split};
        // The logits of `rows` rows from the LM-head pass at row `first`, as
        // logits or as their argmax ids.
        auto deliver = [&](const float* rows_logits, int64_t first, int64_t rows) {
            if (argmax_host != nullptr) be.argmax_to_host(rows_logits, rows, c.vocab_size, argmax_host + first);
            else be.to_host(rows_logits, rows * c.vocab_size, logits_host + first * c.vocab_size);
        };
        if (be.begin_batch(info)) {  // replayed a recording of the whole step (never when split)
            if (m > 0) deliver(logits, 0, m);
            trace.finish();
            return;
        }

        if (s == 0) {
            trace.start();
            be.get_rows(w.token_embd, batch.tokens.data(), n, x);
            trace.op(OpKind::embed, -1, w.token_embd.name, x, n, d, &w.token_embd);
            trace.layer(LayerStage::embedding, -1, x, n, d);
        } else {
            // The hidden state from the previous stage, through the host
            // unless that stage's buffers are host memory.
            Backend& prev = *w.stages[s - 1].backend;
            const float* from = buf.stages[s - 1].x->data();
            if (!prev.host_memory()) {
                prev.to_host(from, n * d, buf.handoff.data());
                from = buf.handoff.data();
            }
            be.from_host(from, n * d, x);
        }

        // Without an observer the fused ops run (fewer passes on a GPU, same
        // values); with one, every single op, so each reports its own output.
        const bool fused = observer == nullptr;
        for (int layer = stage.first_layer; layer < stage.end_layer; ++layer) {
            const LayerWeights& l = w.layers[static_cast<size_t>(layer)];
            const int cache_layer = layer - stage.first_layer;  // the stage's cache holds its layers only
            if (fused) {
                be.rmsnorm(x, l.attn_norm, eps, n, d, xn);
                const LinearJob qkv[] = {{&l.wq, &l.bq, q}, {&l.wk, &l.bk, k}, {&l.wv, &l.bv, v}};
                be.matmul_group(qkv, xn, n);
                be.rope_qk(q, k, batch.positions.data(), n, shape, theta, w.rope_style);
                be.attention(cache_layer, q, k, v, batch.positions.data(), seqs, shape, attn);
                be.matmul_add(l.wo, attn, n, x, tmp);
                be.rmsnorm(x, l.ffn_norm, eps, n, d, xn);
                be.matmul_swiglu(l.w_gate, l.w_up, xn, n, gate, up);
                be.matmul_add(l.w_down, gate, n, x, tmp);
                continue;
            }
            // attention block
            trace.start();
            be.rmsnorm(x, l.attn_norm, eps, n, d, xn);
            trace.op(OpKind::rmsnorm, layer, l.attn_norm.name, xn, n, d);
            trace.start();
            be.matmul(l.wq, xn, n, q);
            trace.op(OpKind::matmul, layer, l.wq.name, q, n, q_dim, &l.wq);
            trace.start();
            be.matmul(l.wk, xn, n, k);
            trace.op(OpKind::matmul, layer, l.wk.name, k, n, kv_dim, &l.wk);
            trace.start();
            be.matmul(l.wv, xn, n, v);
            trace.op(OpKind::matmul, layer, l.wv.name, v, n, kv_dim, &l.wv);
            if (l.bq) {
                trace.start();
                be.add_bias(q, l.bq, n, q_dim);
                trace.op(OpKind::bias, layer, l.bq.name, q, n, q_dim);
            }
            if (l.bk) {
                trace.start();
                be.add_bias(k, l.bk, n, kv_dim);
                trace.op(OpKind::bias, layer, l.bk.name, k, n, kv_dim);
            }
            if (l.bv) {
                trace.start();
                be.add_bias(v, l.bv, n, kv_dim);
                trace.op(OpKind::bias, layer, l.bv.name, v, n, kv_dim);
            }
            trace.start();
            be.rope(q, batch.positions.data(), n, c.num_heads, c.head_dim, theta, w.rope_style);
            trace.op(OpKind::rope, layer, "rope_q", q, n, q_dim);
            trace.start();
            be.rope(k, batch.positions.data(), n, c.num_kv_heads, c.head_dim, theta, w.rope_style);
            trace.op(OpKind::rope, layer, "rope_k", k, n, kv_dim);
            trace.start();
            be.attention(cache_layer, q, k, v, batch.positions.data(), seqs, shape, attn);
            trace.op(OpKind::attention, layer, "attention", attn, n, q_dim);
            trace.start();
            be.matmul(l.wo, attn, n, tmp);
            trace.op(OpKind::matmul, layer, l.wo.name, tmp, n, d, &l.wo);
            trace.start();
            be.add(x, tmp, n * d);
            trace.op(OpKind::add, layer, "attn_residual", x, n, d);

            // MLP block (SwiGLU)
            trace.start();
            be.rmsnorm(x, l.ffn_norm, eps, n, d, xn);
            trace.op(OpKind::rmsnorm, layer, l.ffn_norm.name, xn, n, d);
            trace.start();
            be.matmul(l.w_gate, xn, n, gate);
            trace.op(OpKind::matmul, layer, l.w_gate.name, gate, n, inter, &l.w_gate);
            trace.start();
            be.matmul(l.w_up, xn, n, up);
            trace.op(OpKind::matmul, layer, l.w_up.name, up, n, inter, &l.w_up);
            trace.start();
            be.swiglu(gate, up, n * inter, gate);
            trace.op(OpKind::swiglu, layer, "swiglu", gate, n, inter);
            trace.start();
            be.matmul(l.w_down, gate, n, tmp);
            trace.op(OpKind::matmul, layer, l.w_down.name, tmp, n, d, &l.w_down);
            trace.start();
            be.add(x, tmp, n * d);
            trace.op(OpKind::add, layer, "ffn_residual", x, n, d);
            trace.layer(LayerStage::block_output, layer, x, n, d);
        }
        if (!last) {
            be.end_step();
            continue;
        }

        // Only the rows that need logits go through the final norm and LM
        // head (during prompt processing that is usually the last one).
        if (m == 0) {
            trace.finish();
            be.end_step();
            return;
        }
        // Decode steps want every row in order: no gather then. The norm
        // writes another buffer than it reads, so a backend may fold it into
        // the LM head's product (xn is free after the last layer).
        const float* final_in = x;
        if (!every_row_in_order(batch.logit_rows, n)) {
            be.gather_rows(x, batch.logit_rows.data(), m, d, xn);
            final_in = xn;
        }
        trace.start();
        be.rmsnorm(final_in, w.output_norm, eps, m, d, selected);
        trace.op(OpKind::rmsnorm, -1, w.output_norm.name, selected, m, d);
        trace.layer(LayerStage::final_norm, static_cast<int>(w.layers.size()), selected, m, d);
        // The LM head in passes of logit_capacity rows (rows are independent,
        // so the split changes no value).
        for (int64_t first = 0; first < m; first += buf.logit_capacity) {
            const int64_t rows = std::min(buf.logit_capacity, m - first);
            trace.start();
            be.matmul(w.output, selected + first * d, rows, logits);
            trace.op(OpKind::lm_head, -1, w.output.name, logits, rows, c.vocab_size, &w.output);
            if (first == 0) be.end_step();  // recordable steps have one pass: the step ends here
            deliver(logits, first, rows);
        }
    }
    trace.finish();
}

}  // namespace apr::model
