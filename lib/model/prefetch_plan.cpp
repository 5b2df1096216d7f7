#include "model/prefetch_plan.hpp"

#include <algorithm>

namespace apr::model {

void PrefetchPlan::begin_step() {
    if (!trace_.empty()) plan_ = std::move(trace_);
    trace_.clear();
    cursor_ = 0;
}

std::vector<PrefetchPlan::Range> PrefetchPlan::next(std::span<const Range> reads, size_t max_ranges) {
    std::vector<Range> out;
    if (!enabled() || reads.empty()) return out;
    trace_.emplace_back(reads.begin(), reads.end());
    // The product's place in the plan: where the last one left off, or
    // found by its first weight (a step that skipped or added products).
    size_t at = plan_.size();
    if (cursor_ < plan_.size() && plan_[cursor_].front() == reads.front()) {
        at = cursor_;
    } else {
        for (size_t i = 0; i < plan_.size(); ++i)
            if (plan_[i].front() == reads.front()) {
                at = i;
                break;
            }
    }
    if (at == plan_.size()) return out;
    cursor_ = at + 1;
    size_t left = budget_;
    const size_t launches = std::min(static_cast<size_t>(ahead_), plan_.size() - 1);
    for (size_t j = 1; j <= launches && left > 0; ++j)
        for (const Range& r : plan_[(at + j) % plan_.size()]) {
            if (left == 0 || out.size() == max_ranges) return out;
            out.push_back({r.p, std::min(r.bytes, left)});
            left -= out.back().bytes;
        }
    return out;
}

}  // namespace apr::model
