// Prometheus metrics of the server: requests by endpoint and status,
// prompt/generated token counters, time-to-first-token and per-token latency
// histograms. Gauges (queue depth, busy slots, KV-cache memory) are read from the scheduler
// when /metrics is rendered. Thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace apr::serve {

class Histogram {
public:
    static constexpr std::array<double, 12> kBounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
    void observe(double seconds);
    void render(std::string& out, const std::string& name, const std::string& help) const;

private:
    std::array<uint64_t, kBounds.size()> counts_{};
    uint64_t count_ = 0;
    double sum_ = 0;
};

class Metrics {
public:
    void request(const std::string& endpoint, int status);
    void tokens(int64_t prompt, int64_t cached, int64_t generated);
    void time_to_first_token(double seconds);
    void token_latency(double seconds);
    // `kv_cache_bytes` / `kv_cache_positions`: what the slots' paged KV
    // caches hold now (Scheduler::kv_cache_bytes).
    std::string render(int64_t queue_depth, int64_t busy_slots, int64_t slots, int64_t kv_cache_bytes = 0,
                       int64_t kv_cache_positions = 0) const;

private:
    mutable std::mutex mutex_;
    std::map<std::pair<std::string, int>, uint64_t> requests_;
    uint64_t prompt_tokens_ = 0, cached_tokens_ = 0, generated_tokens_ = 0;
    Histogram ttft_, per_token_;
};

}  // namespace apr::serve
