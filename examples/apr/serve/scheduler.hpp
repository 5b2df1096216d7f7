// The scheduler: one thread owns the model, the slots and the batch.
// HTTP threads submit() a request and then read the Sequence's events as the
// scheduler produces them. Every step, all active sequences advance together
// in one batched forward pass: each decoding slot adds its one token, and
// slots still reading their prompt add a chunk of it with the rest of the
// step's token budget, so a long prompt never stalls the others. New
// requests take a free slot between steps; the slot whose cached tokens
// share the longest prefix with the prompt wins, and only the rest of the
// prompt is evaluated. Past the slots, a bounded queue; past that, submit()
// refuses (the HTTP layer answers 503 + Retry-After).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "apr/batch.hpp"
#include "apr/generate.hpp"
#include "apr/model.hpp"
#include "apr/sampling.hpp"
#include "apr/session.hpp"
#include "apr/trace.hpp"

namespace apr::serve {

class Metrics;

struct GenRequest {
    std::vector<int32_t> prompt;
    SamplingParams sampling;
    int64_t max_tokens = 256;
    std::vector<std::string> stop;
    bool logprobs = false;
    int64_t top_logprobs = 0;
    // Record the ops of the steps this request takes part in (a serve trace
    // mode or the request's X-Trace-Level / X-Profile header).
    bool record_trace = false;
};

// What the scheduler hands back, in order: tokens, then one final event.
struct GenEvent {
    bool final = false;
    int32_t id = -1;
    std::string text;                      // text this token releases (may be empty)
    std::optional<StepLogprobs> logprobs;  // when the request asked
    // final only:
    FinishReason finish = FinishReason::length;
    std::string error;                     // non-empty: generation failed
};

using Clock = std::chrono::steady_clock;

// One generation in flight. Shared by the HTTP thread (reads events, may
// cancel) and the scheduler (writes events).
class Sequence {
public:
    explicit Sequence(GenRequest r)
        : request(std::move(r)), recorder(request.record_trace ? std::make_unique<trace::Recorder>() : nullptr) {}
    const GenRequest request;

    // Waits up to `timeout` for the next event; false on timeout.
    bool next(GenEvent& event, std::chrono::milliseconds timeout);
    // The client went away or the server stops: the scheduler frees the slot
    // before its next step.
    void cancel() { cancelled_.store(true); }
    // The reader wants only the final event in time (a whole answer, not a
    // stream): token events are queued without waking it, so a waiting HTTP
    // thread is not scheduled once per token beside the compute threads.
    void wake_on_final_only() { quiet_.store(true); }
    bool cancelled() const { return cancelled_.load(); }

    // Filled by the scheduler; read after the final event.
    int64_t prompt_tokens = 0, cached_tokens = 0, completion_tokens = 0;
    Clock::time_point queued_at = Clock::now(), started_at{}, first_token_at{}, finished_at{};
    // The forward-pass time of the steps the sequence took part in, reading
    // its prompt and generating (always measured: two clock reads per step),
    // and with request.record_trace those steps' events. A step's time is
    // shared by every sequence in it.
    double prompt_step_ms = 0, decode_step_ms = 0;
    int64_t prompt_steps = 0, decode_steps = 0;
    const std::unique_ptr<trace::Recorder> recorder;

    void push(GenEvent event);

private:
    std::atomic<bool> cancelled_{false};
    std::atomic<bool> quiet_{false};
    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<GenEvent> events_;
};

struct SchedulerParams {
    int64_t slots = 1;
    int64_t queue_size = 64;      // waiting requests beyond the busy slots
    int64_t batch_tokens = 256;   // tokens per forward pass (decode rows + prompt chunks)
    SessionParams session;        // each slot's KV cache
};

class Scheduler {
public:
    Scheduler(const Model& model, const SchedulerParams& params, Metrics* metrics);
    ~Scheduler();  // stops the thread, cancels what is left

    // Null when the queue is full. The prompt must fit the slot's context
    // (checked by the caller with context_length()).
    std::shared_ptr<Sequence> submit(GenRequest request);
    int64_t context_length() const { return context_length_; }
    int64_t slots() const { return static_cast<int64_t>(slots_.size()); }
    int64_t busy_slots() const { return busy_.load(); }
    // KV-cache bytes and positions all slots hold now (each slot keeps its
    // cache after a request, for prefix reuse; paged, so a slot costs only
    // the blocks its positions fill). Updated by the scheduler thread.
    int64_t kv_cache_bytes() const { return kv_bytes_.load(); }
    int64_t kv_cache_positions() const { return kv_positions_.load(); }
    KVCacheType kv_cache_type() const { return kv_type_; }
    int64_t queue_depth() const;
    // Stops taking requests; in-flight ones are cancelled after `grace`.
    void shutdown(std::chrono::milliseconds grace);

private:
    struct Slot;
    class StepFanout;
    void loop();
    void assign_waiting();
    size_t copy_longer_prefix(Slot& slot, const std::vector<int32_t>& prompt, size_t held);
    bool wait_for_shared_prefix(Slot& slot, size_t index);
    void step();
    void finish(Slot& slot, FinishReason reason, const std::string& error = {});
    void emit(Slot& slot, GenEvent ev);
    void update_kv_gauges();

    const Model& model_;
    SchedulerParams params_;
    Metrics* metrics_;
    int64_t context_length_ = 0;
    std::vector<std::unique_ptr<Slot>> slots_;
    BatchEvaluator evaluator_;
    std::unique_ptr<StepFanout> fanout_;  // hands a step's events to its traced sequences' recorders
    std::vector<int32_t> end_ids_;
    bool can_copy_prefix_ = true;  // false once a copy failed (caches on a GPU): then no slot waits to copy

    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<std::shared_ptr<Sequence>> waiting_;
    bool stopping_ = false;
    std::atomic<int64_t> busy_{0};
    std::atomic<int64_t> kv_bytes_{0}, kv_positions_{0};
    KVCacheType kv_type_ = KVCacheType::f16;
    std::thread thread_;
};

}  // namespace apr::serve
