// What every endpoint shares: the options, the loaded model with its
// tokenizer and chat template, the scheduler and the metrics; plus the
// steps both APIs take (model-name rules, prompt checks, submitting n
// sequences, waiting for them or streaming their events).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "apr/chat_template.hpp"
#include "apr/model.hpp"
#include "apr/sampling.hpp"
#include "apr/session.hpp"
#include "apr/tokenizer.hpp"
#include "apr/trace.hpp"
#include "serve/api_error.hpp"
#include "serve/metrics.hpp"
#include "serve/scheduler.hpp"

namespace apr::serve {

struct ServeOptions {
    std::string model_path;
    std::string alias;
    std::string host = "127.0.0.1";
    int64_t port = 8080;
    int64_t parallel = 1;
    int64_t queue = 64;
    int64_t batch_tokens = 256;
    int64_t threads = 0;
    Device device = Device::automatic;  // --device (auto: the GPU when there is one)
    int gpu_layers = -1;                // --gpu-layers
    std::string api_key;
    std::string cors_origin;
    std::string log_format = "text";
    int64_t body_limit = 8 << 20;
    int64_t timeout_s = 30;  // read/write/keep-alive timeouts
    SessionParams session;
    // Request defaults (a request's own fields win).
    SamplingParams sampling;
    int64_t seed = -1;       // -1: a fresh seed per request
    int64_t max_tokens = -1; // -1: until the context is full
    // Trace modes (docs/tracing.md): --trace logs each completion's timing,
    // --trace-level layer its layer table, --profile returns the roofline
    // with every completion.
    bool trace = false;
    bool trace_layer = false;
    bool profile = false;
};

// The text of one finished choice.
struct ChoiceResult {
    std::string text;
    std::vector<StepLogprobs> logprobs;
    std::vector<int32_t> tokens;
    FinishReason finish = FinishReason::length;
};

class Service {
public:
    explicit Service(ServeOptions options);
    ~Service();
    // Loads the model and starts the scheduler; /health says "loading" until it returns.
    void load();
    bool ready() const { return ready_.load(); }
    void shutdown(std::chrono::milliseconds grace);

    const ServeOptions& options() const { return options_; }
    const Model& model() const { return *model_; }
    const Tokenizer& tokenizer() const { return *model_->tokenizer(); }
    const ChatTemplate& chat_template() const { return *template_; }
    Scheduler& scheduler() { return *scheduler_; }
    Metrics& metrics() { return metrics_; }
    double load_ms() const { return load_ms_; }
    // The machine's measured peaks for the roofline: measured (about half a
    // second) on the first profiled request, or read from the user's cache.
    const trace::MachinePeaks& peaks();

    // An omitted model means the served one; another name is 404 (ApiError).
    void check_model(const std::optional<std::string>& name, bool ollama) const;

    // Request defaults with a seed (the server's --seed or a fresh one).
    SamplingParams default_sampling() const;
    uint64_t fresh_seed();

    // Tokenizes a prompt text (special tokens parsed) and checks it fits:
    // an empty prompt or one longer than `limit` (or the context) is 400.
    std::vector<int32_t> prompt_tokens(const std::string& text, int64_t limit = 0) const;
    void check_prompt(const std::vector<int32_t>& prompt, int64_t limit = 0) const;
    // The max_tokens a request gets: its own, else the server default, else the rest of the context.
    int64_t max_tokens_for(std::optional<int64_t> requested, size_t prompt_size, int64_t limit = 0) const;

    // Submits n sequences (seeds seed, seed+1, ...); 503 + Retry-After when the queue is full.
    std::vector<std::shared_ptr<Sequence>> submit(const GenRequest& request, int64_t n);
    // Waits for every sequence to finish; throws ApiError(500) if one failed.
    std::vector<ChoiceResult> collect(const std::vector<std::shared_ptr<Sequence>>& seqs);
    // Streams events of all sequences as they come; on_event(choice index,
    // event) returning false (the client left) cancels them all. Returns false then.
    bool pump(const std::vector<std::shared_ptr<Sequence>>& seqs,
              const std::function<bool(size_t, const GenEvent&)>& on_event);

    // Text of one token for logprobs (raw bytes, may be part of a character).
    std::string token_bytes(int32_t id) const;

private:
    ServeOptions options_;
    std::unique_ptr<Model> model_;
    std::optional<ChatTemplate> template_;
    Metrics metrics_;
    std::unique_ptr<Scheduler> scheduler_;
    std::atomic<bool> ready_{false};
    std::atomic<uint64_t> seed_counter_;
    double load_ms_ = 0;
    std::once_flag peaks_once_;
    trace::MachinePeaks peaks_;
};

// Per-request facts for the access log (set by handlers on the worker thread).
struct RequestLog {
    Clock::time_point start;
    int64_t prompt_tokens = 0;
    int64_t completion_tokens = 0;
    // With a trace mode: what the log line adds (serve/request_trace.hpp).
    std::string trace_line;    // --trace: queue, prompt and generation times, tok/s
    std::string trace_json;    // the same for --log-format json (a JSON object's text)
    std::string layer_table;   // --trace-level layer
};
RequestLog& request_log();

// Seconds since the epoch, and RFC 3339 with nanoseconds in UTC (Ollama's created_at).
int64_t unix_time();
std::string rfc3339_now();
// A random hex id ("chatcmpl-" + 24 hex digits).
std::string random_id(const std::string& prefix);

}  // namespace apr::serve
