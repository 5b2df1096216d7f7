#include "serve/metrics.hpp"

#include <fmt/core.h>

#include <algorithm>

namespace apr::serve {
namespace {

// One unlabelled sample with its HELP and TYPE lines (Prometheus text format).
void render_scalar(std::string& out, const char* type, const std::string& name, const std::string& help, uint64_t value) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, value);
}
void counter(std::string& out, const std::string& name, const std::string& help, uint64_t value) {
    render_scalar(out, "counter", name, help, value);
}
void gauge(std::string& out, const std::string& name, const std::string& help, int64_t value) {
    render_scalar(out, "gauge", name, help, static_cast<uint64_t>(std::max<int64_t>(value, 0)));
}

}  // namespace

void Histogram::observe(double s) {
    for (size_t i = 0; i < kBounds.size(); ++i)
        if (s <= kBounds[i]) ++counts_[i];
    ++count_;
    sum_ += s;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& help) const {
    out += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
    for (size_t i = 0; i < kBounds.size(); ++i) out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, kBounds[i], counts_[i]);
    out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n{}_sum {}\n{}_count {}\n", name, count_, name, sum_, name, count_);
}

void Metrics::request(const std::string& endpoint, int status) {
    std::lock_guard lock(mutex_);
    ++requests_[{endpoint, status}];
}

void Metrics::tokens(int64_t prompt, int64_t cached, int64_t generated) {
    std::lock_guard lock(mutex_);
    prompt_tokens_ += static_cast<uint64_t>(prompt);
    cached_tokens_ += static_cast<uint64_t>(cached);
    generated_tokens_ += static_cast<uint64_t>(generated);
}

void Metrics::time_to_first_token(double s) {
    std::lock_guard lock(mutex_);
    ttft_.observe(s);
}

void Metrics::token_latency(double s) {
    std::lock_guard lock(mutex_);
    per_token_.observe(s);
}

std::string Metrics::render(int64_t queue_depth, int64_t busy_slots, int64_t slots, int64_t kv_cache_bytes,
                            int64_t kv_cache_positions) const {
    std::lock_guard lock(mutex_);
    std::string out;
    out += "# HELP apr_requests_total HTTP requests by endpoint and status.\n# TYPE apr_requests_total counter\n";
    for (const auto& [key, n] : requests_)
        out += fmt::format("apr_requests_total{{endpoint=\"{}\",status=\"{}\"}} {}\n", key.first, key.second, n);
    counter(out, "apr_prompt_tokens_total", "Prompt tokens of finished generations.", prompt_tokens_);
    counter(out, "apr_prompt_cached_tokens_total", "Prompt tokens taken from a slot's cache instead of evaluated.",
            cached_tokens_);
    counter(out, "apr_generated_tokens_total", "Generated tokens.", generated_tokens_);
    gauge(out, "apr_queue_depth", "Requests waiting for a slot.", queue_depth);
    gauge(out, "apr_busy_slots", "Slots generating now.", busy_slots);
    gauge(out, "apr_slots", "Slots (--parallel).", slots);
    gauge(out, "apr_kv_cache_bytes", "KV-cache memory the slots hold (whole blocks of 256 positions).", kv_cache_bytes);
    gauge(out, "apr_kv_cache_positions", "Positions the slots' KV caches hold (kept for prefix reuse).",
          kv_cache_positions);
    ttft_.render(out, "apr_time_to_first_token_seconds", "Time from request to its first generated token.");
    per_token_.render(out, "apr_token_latency_seconds", "Time between consecutive generated tokens of a sequence.");
    return out;
}

}  // namespace apr::serve
