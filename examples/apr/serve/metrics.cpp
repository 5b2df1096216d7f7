#include "serve/metrics.hpp"

#include <fmt/core.h>

namespace apr::serve {

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
    out += fmt::format("# HELP apr_prompt_tokens_total Prompt tokens of finished generations.\n"
                       "# TYPE apr_prompt_tokens_total counter\napr_prompt_tokens_total {}\n",
                       prompt_tokens_);
    out += fmt::format("# HELP apr_prompt_cached_tokens_total Prompt tokens taken from a slot's cache instead of evaluated.\n"
                       "# TYPE apr_prompt_cached_tokens_total counter\napr_prompt_cached_tokens_total {}\n",
                       cached_tokens_);
    out += fmt::format("# HELP apr_generated_tokens_total Generated tokens.\n"
                       "# TYPE apr_generated_tokens_total counter\napr_generated_tokens_total {}\n",
                       generated_tokens_);
    out += fmt::format("# HELP apr_queue_depth Requests waiting for a slot.\n# TYPE apr_queue_depth gauge\n"
                       "apr_queue_depth {}\n",
                       queue_depth);
    out += fmt::format("# HELP apr_busy_slots Slots generating now.\n# TYPE apr_busy_slots gauge\napr_busy_slots {}\n",
                       busy_slots);
    out += fmt::format("# HELP apr_slots Slots (--parallel).\n# TYPE apr_slots gauge\napr_slots {}\n", slots);
    out += fmt::format("# HELP apr_kv_cache_bytes KV-cache memory the slots hold (whole blocks of 256 positions).\n"
                       "# TYPE apr_kv_cache_bytes gauge\napr_kv_cache_bytes {}\n",
                       kv_cache_bytes);
    out += fmt::format("# HELP apr_kv_cache_positions Positions the slots' KV caches hold (kept for prefix reuse).\n"
                       "# TYPE apr_kv_cache_positions gauge\napr_kv_cache_positions {}\n",
                       kv_cache_positions);
    ttft_.render(out, "apr_time_to_first_token_seconds", "Time from request to its first generated token.");
    per_token_.render(out, "apr_token_latency_seconds", "Time between consecutive generated tokens of a sequence.");
    return out;
}

}  // namespace apr::serve
