#include "serve/scheduler.hpp"

#include <algorithm>

#include "apr/error.hpp"
#include "apr/tokenizer.hpp"
#include "serve/metrics.hpp"
#include "serve/text_stream.hpp"

namespace apr::serve {

bool Sequence::next(GenEvent& event, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    if (!cv_.wait_for(lock, timeout, [&] { return !events_.empty(); })) return false;
    event = std::move(events_.front());
    events_.pop_front();
    return true;
}

void Sequence::push(GenEvent event) {
    const bool wake = event.final || !quiet_.load();
    {
        std::lock_guard lock(mutex_);
        events_.push_back(std::move(event));
    }
    if (wake) cv_.notify_all();
}

// One batched step's events go to the recorder of every traced sequence in
// the step (the evaluator reports to the first item's session's observer).
class Scheduler::StepFanout : public Observer {
public:
    std::vector<trace::Recorder*> targets;
    void on_op(const OpEvent& e) override {
        for (trace::Recorder* r : targets) r->on_op(e);
    }
    void on_layer(const LayerEvent& e) override {
        for (trace::Recorder* r : targets) r->on_layer(e);
    }
    void on_batch_begin(const BatchEvent& e) override {
        for (trace::Recorder* r : targets) r->on_batch_begin(e);
    }
    void on_batch_end(const BatchEvent& e) override {
        for (trace::Recorder* r : targets) r->on_batch_end(e);
    }
};

struct Scheduler::Slot {
    Slot(const Model& model, const SessionParams& params) : session(model, params) {}
    Session session;
    std::vector<int32_t> cached;  // the tokens the KV cache holds, in order
    std::shared_ptr<Sequence> seq;  // null: free
    size_t prompt_pos = 0;          // next prompt token to evaluate
    std::optional<Sampler> sampler;
    std::optional<TextStream> text;
    int32_t pending = -1;  // the last sampled token, evaluated in the next step
    bool fresh = false;    // admitted, no prompt chunk evaluated yet (see wait_for_shared_prefix)
    Clock::time_point last_token_at{};
};

Scheduler::Scheduler(const Model& model, const SchedulerParams& params, Metrics* metrics)
    : model_(model), params_(params), metrics_(metrics), evaluator_(model, std::max<int64_t>(params.batch_tokens, params.slots)),
      fanout_(std::make_unique<StepFanout>()), end_ids_(model.end_token_ids()) {
    if (params.slots < 1) throw Error(ErrorCode::invalid_argument, "scheduler: slots must be >= 1");
    for (int64_t i = 0; i < params.slots; ++i) slots_.push_back(std::make_unique<Slot>(model, params.session));
    context_length_ = slots_[0]->session.context_length();
    kv_type_ = slots_[0]->session.kv_cache_type();
    std::sort(end_ids_.begin(), end_ids_.end());
    thread_ = std::thread([this] { loop(); });
}

Scheduler::~Scheduler() { shutdown(std::chrono::milliseconds(0)); }

std::shared_ptr<Sequence> Scheduler::submit(GenRequest request) {
    auto seq = std::make_shared<Sequence>(std::move(request));
    {
        std::lock_guard lock(mutex_);
        if (stopping_) return nullptr;
        const int64_t free_slots = slots() - busy_.load();
        if (static_cast<int64_t>(waiting_.size()) >= params_.queue_size + std::max<int64_t>(free_slots, 0)) return nullptr;
        waiting_.push_back(seq);
    }
    cv_.notify_all();
    return seq;
}

int64_t Scheduler::queue_depth() const {
    std::lock_guard lock(mutex_);
    return static_cast<int64_t>(waiting_.size());
}

void Scheduler::shutdown(std::chrono::milliseconds grace) {
    {
        std::lock_guard lock(mutex_);
        if (!thread_.joinable()) return;
        stopping_ = true;
        for (auto& seq : waiting_) seq->cancel();
    }
    cv_.notify_all();
    const auto deadline = Clock::now() + grace;
    while (busy_.load() > 0 && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    {
        std::lock_guard lock(mutex_);
        for (auto& slot : slots_)
            if (slot->seq) slot->seq->cancel();
    }
    thread_.join();
}

namespace {
size_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
    const size_t n = std::min(a.size(), b.size());
    size_t i = 0;
    while (i < n && a[i] == b[i]) ++i;
    return i;
}
}  // namespace

// Under mutex_: moves waiting requests into free slots.
void Scheduler::assign_waiting() {
    while (!waiting_.empty()) {
        std::shared_ptr<Sequence> seq = waiting_.front();
        if (seq->cancelled()) {
            waiting_.pop_front();
            GenEvent done;
            done.final = true;
            done.finish = FinishReason::cancelled;
            seq->push(std::move(done));
            continue;
        }
        // The free slot sharing the longest prefix with the prompt; among
        // equals, the one holding the fewest cached tokens (keeps others' caches).
        Slot* best = nullptr;
        size_t best_lcp = 0;
        for (auto& slot : slots_) {
            if (slot->seq) continue;
            const size_t lcp = common_prefix(slot->cached, seq->request.prompt);
            if (best == nullptr || lcp > best_lcp || (lcp == best_lcp && slot->cached.size() < best->cached.size())) {
                best = slot.get();
                best_lcp = lcp;
            }
        }
        if (best == nullptr) return;
        waiting_.pop_front();
        const std::vector<int32_t>& prompt = seq->request.prompt;
        // At least the prompt's last token is evaluated: its logits start
        // generation. Another slot (busy or free) may hold a longer prefix (a
        // shared system prompt, the same question asked again).
        const size_t reuse = copy_longer_prefix(*best, prompt, std::min(best_lcp, prompt.size() - 1));
        best->session.truncate(static_cast<int64_t>(reuse));  // blocks past `reuse` go back to the pool
        best->cached.resize(reuse);
        best->prompt_pos = reuse;
        best->sampler.emplace(seq->request.sampling);
        for (int32_t t : prompt) best->sampler->accept(t);
        best->text.emplace(*model_.tokenizer(), seq->request.stop);
        best->pending = -1;
        best->fresh = true;
        seq->prompt_tokens = static_cast<int64_t>(prompt.size());
        seq->cached_tokens = static_cast<int64_t>(reuse);
        seq->started_at = Clock::now();
        best->seq = std::move(seq);
        ++busy_;
    }
}

// When another slot's cache holds more than `held` tokens of `prompt` (at
// most all but its last), copies that prefix's keys and values into `slot`
// (the same bits as evaluating them) and returns how many it now holds; else
// `held`. A copy the caches cannot make (on a GPU) turns prefix copying off.
size_t Scheduler::copy_longer_prefix(Slot& slot, const std::vector<int32_t>& prompt, size_t held) {
    const size_t limit = prompt.size() - 1;
    Slot* donor = nullptr;
    size_t longest = held;
    for (auto& other : slots_) {
        if (other.get() == &slot) continue;
        const size_t lcp =
            std::min({common_prefix(other->cached, prompt), static_cast<size_t>(other->session.position()), limit});
        if (lcp > longest) {
            donor = other.get();
            longest = lcp;
        }
    }
    if (donor == nullptr) return held;
    if (!slot.session.copy_prefix_from(donor->session, static_cast<int64_t>(longest))) {
        can_copy_prefix_ = false;
        return held;
    }
    slot.cached.assign(prompt.begin(), prompt.begin() + static_cast<std::ptrdiff_t>(longest));
    return longest;
}

// For a slot admitted but not yet reading its prompt (slots_[index]):
// requests admitted together often share a prefix no cache held when they
// were admitted (a burst of chats with one system prompt, the same question
// twice), and each would evaluate it. So first, when another slot's cache
// now holds more of the prompt than this one, that prefix is copied (the
// same bits as evaluating it). Then, when another slot reading its own
// prompt will hold at least kWaitGain tokens more of this prompt once it has
// read it, this slot sits out the step (returns true) and copies next step,
// one step later but without evaluating those tokens again. Only a slot
// ahead of this one is waited for (more of its prompt read, or as much and
// earlier in slots_), so of twins admitted together one always proceeds.
bool Scheduler::wait_for_shared_prefix(Slot& slot, size_t index) {
    constexpr size_t kWaitGain = 4;
    const std::vector<int32_t>& prompt = slot.seq->request.prompt;
    const size_t limit = prompt.size() - 1;  // the last prompt token is always evaluated (its logits start the answer)
    const size_t held = copy_longer_prefix(slot, prompt, slot.prompt_pos);
    if (held > slot.prompt_pos) {
        slot.prompt_pos = held;
        slot.seq->cached_tokens = static_cast<int64_t>(held);
    }
    if (!can_copy_prefix_) return false;
    for (size_t i = 0; i < slots_.size(); ++i) {
        const Slot& other = *slots_[i];
        if (i == index || !other.seq || other.pending >= 0) continue;
        const bool ahead = other.prompt_pos > slot.prompt_pos || (other.prompt_pos == slot.prompt_pos && i < index);
        if (ahead && std::min(common_prefix(other.seq->request.prompt, prompt), limit) >= slot.prompt_pos + kWaitGain) return true;
    }
    return false;
}

void Scheduler::finish(Slot& slot, FinishReason reason, const std::string& error) {
    std::shared_ptr<Sequence> seq = std::move(slot.seq);
    slot.seq.reset();
    slot.pending = -1;
    seq->finished_at = Clock::now();
    if (metrics_ != nullptr) metrics_->tokens(seq->prompt_tokens, seq->cached_tokens, seq->completion_tokens);
    GenEvent done;
    done.final = true;
    done.finish = reason;
    done.error = error;
    --busy_;
    seq->push(std::move(done));
}

void Scheduler::loop() {
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            if (!stopping_) assign_waiting();
            else
                while (!waiting_.empty()) {
                    GenEvent done;
                    done.final = true;
                    done.finish = FinishReason::cancelled;
                    waiting_.front()->push(std::move(done));
                    waiting_.pop_front();
                }
            if (busy_.load() == 0) {
                if (stopping_) return;
                cv_.wait(lock, [&] { return stopping_ || !waiting_.empty(); });
                continue;
            }
        }
        for (auto& slot : slots_)
            if (slot->seq && slot->seq->cancelled()) finish(*slot, FinishReason::cancelled);
        step();
    }
}

void Scheduler::update_kv_gauges() {
    int64_t bytes = 0, positions = 0;
    for (const auto& slot : slots_) {
        bytes += slot->session.kv_cache_bytes();
        positions += slot->session.position();
    }
    kv_bytes_.store(bytes);
    kv_positions_.store(positions);
}

void Scheduler::step() {
    std::vector<BatchItem> items;
    std::vector<Slot*> owners;
    int64_t budget = evaluator_.max_tokens();
    // Decode rows first: every generating sequence advances every step.
    for (auto& slot : slots_) {
        if (!slot->seq || slot->pending < 0) continue;
        items.push_back({&slot->session, std::span<const int32_t>(&slot->pending, 1), true});
        owners.push_back(slot.get());
        --budget;
    }
    // Prompt chunks share what is left of the step's budget.
    for (size_t index = 0; index < slots_.size(); ++index) {
        Slot* slot = slots_[index].get();
        if (!slot->seq || slot->pending >= 0 || budget <= 0) continue;
        if (slot->fresh && wait_for_shared_prefix(*slot, index)) continue;
        slot->fresh = false;
        const std::vector<int32_t>& prompt = slot->seq->request.prompt;
        const int64_t left = static_cast<int64_t>(prompt.size() - slot->prompt_pos);
        const int64_t n = std::min(left, budget);
        items.push_back({&slot->session, std::span<const int32_t>(prompt.data() + slot->prompt_pos, static_cast<size_t>(n)),
                         n == left});
        owners.push_back(slot);
        budget -= n;
    }
    if (items.empty()) return;

    // Traced sequences hear this step (prompt chunk or decode row); without
    // any, no observer is attached and the step runs untimed per op.
    fanout_->targets.clear();
    for (Slot* slot : owners)
        if (trace::Recorder* r = slot->seq->recorder.get()) {
            r->on_phase(slot->pending < 0 ? GenerationPhase::prompt : GenerationPhase::decode);
            fanout_->targets.push_back(r);
        }
    Session& first = *items[0].session;
    if (!fanout_->targets.empty()) first.set_observer(fanout_.get());
    // When every row that samples this step takes the first maximum of its
    // raw logits and nobody reads them (no logprobs, no trace), the step asks
    // for the ids alone: on a GPU the argmax runs there and only the ids come
    // back, not a vocabulary of floats per row (the same ids either way).
    bool greedy = true;
    for (size_t i = 0; i < items.size() && greedy; ++i) {
        const Sequence& seq = *owners[i]->seq;
        if (items[i].want_logits && (!owners[i]->sampler->picks_argmax() || seq.request.logprobs || seq.recorder))
            greedy = false;
    }
    std::span<const float> logits;
    std::span<const int32_t> ids;
    const Clock::time_point step_start = Clock::now();
    try {
        if (greedy) ids = evaluator_.evaluate_greedy(items);
        else logits = evaluator_.evaluate(items);
    } catch (const std::exception& e) {
        first.set_observer(nullptr);
        update_kv_gauges();
        for (Slot* slot : owners) finish(*slot, FinishReason::stop, e.what());
        return;
    }
    first.set_observer(nullptr);
    // Before any sequence of this step finishes: a client that reads
    // /metrics right after its answer sees the cache as the step left it
    // (truncations made when the request was admitted included).
    update_kv_gauges();
    const double step_ms = std::chrono::duration<double, std::milli>(Clock::now() - step_start).count();
    for (Slot* slot : owners) {
        Sequence& seq = *slot->seq;
        (slot->pending < 0 ? seq.prompt_step_ms : seq.decode_step_ms) += step_ms;
        ++(slot->pending < 0 ? seq.prompt_steps : seq.decode_steps);
    }
    const size_t vocab = static_cast<size_t>(model_.config().vocab_size);
    size_t row = 0;
    for (size_t i = 0; i < items.size(); ++i) {
        Slot& slot = *owners[i];
        slot.cached.insert(slot.cached.end(), items[i].tokens.begin(), items[i].tokens.end());
        if (slot.pending < 0) slot.prompt_pos += items[i].tokens.size();
        if (!items[i].want_logits) continue;
        const size_t this_row = row++;
        Sequence& seq = *slot.seq;
        const GenRequest& req = seq.request;
        if (req.max_tokens == 0) {
            finish(slot, FinishReason::length);
            continue;
        }
        GenEvent ev;
        if (greedy) {
            ev.id = ids[this_row];
            emit(slot, std::move(ev));
            continue;
        }
        const std::span<const float> row_logits = logits.subspan(this_row * vocab, vocab);
        const Clock::time_point sample_start = Clock::now();
        ev.id = slot.sampler->sample(row_logits);
        if (seq.recorder)
            seq.recorder->on_sample(SampleEvent{seq.completion_tokens, ev.id, row_logits.data(),
                                                static_cast<int64_t>(vocab),
                                                std::chrono::duration<double, std::milli>(Clock::now() - sample_start).count()});
        if (req.logprobs)
            ev.logprobs = StepLogprobs{ev.id, logprob_of(row_logits, ev.id), top_logprobs(row_logits, req.top_logprobs)};
        emit(slot, std::move(ev));
    }
}

// A sampled token to its sequence: the sampler's history (penalties), metrics,
// text, and whether it ends the answer.
void Scheduler::emit(Slot& slot, GenEvent ev) {
    slot.sampler->accept(ev.id);
    Sequence& seq = *slot.seq;
    const GenRequest& req = seq.request;
    ++seq.completion_tokens;
    const Clock::time_point now = Clock::now();
    if (metrics_ != nullptr) {
        if (seq.completion_tokens == 1) metrics_->time_to_first_token(std::chrono::duration<double>(now - seq.queued_at).count());
        else metrics_->token_latency(std::chrono::duration<double>(now - slot.last_token_at).count());
    }
    if (seq.completion_tokens == 1) seq.first_token_at = now;
    slot.last_token_at = now;
    const bool is_end = std::binary_search(end_ids_.begin(), end_ids_.end(), ev.id);
    if (!is_end) ev.text = slot.text->push(ev.id);
    std::optional<FinishReason> reason;
    if (is_end || slot.text->stopped()) reason = FinishReason::stop;
    else if (seq.completion_tokens >= req.max_tokens || slot.session.position() >= context_length_)
        reason = FinishReason::length;
    if (reason && !slot.text->stopped()) ev.text += slot.text->finish();
    const int32_t id = ev.id;
    seq.push(std::move(ev));
    if (reason) finish(slot, *reason);
    else slot.pending = id;
}

}  // namespace apr::serve
