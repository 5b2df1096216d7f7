// Which weights a decode step's products read, in launch order, learned from
// the step before, so that each product can bring the next ones into the
// GPU's L2 while it runs (kernels/cuda/l2_prefetch.cuh). Decode steps repeat
// the same products in the same order (layer by layer, then the LM head), so
// the last step's list says what comes after any product of this one. Only
// ever a hint: a plan that does not match (the first step, a different
// model path) prefetches nothing or the wrong bytes, never changes a result.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace apr::model {

class PrefetchPlan {
public:
    struct Range {
        const void* p = nullptr;
        size_t bytes = 0;
        bool operator==(const Range&) const = default;
    };

    // launches_ahead: how many of the following products' weights a product
    // is given (0: none); budget: at most this many bytes in all (the last
    // range cut short), about what the L2 holds beside the product's own.
    PrefetchPlan(int launches_ahead, size_t budget) : ahead_(launches_ahead), budget_(budget) {}

    // A new step: the trace of the last one (when it had any products)
    // becomes the plan.
    void begin_step();

    // A product reading `reads` is launched: recorded in this step's trace;
    // returns the ranges of the products that followed it in the plan (the
    // plan wraps around: after the LM head comes the next step's first
    // layer), at most max_ranges of them and budget bytes.
    std::vector<Range> next(std::span<const Range> reads, size_t max_ranges);

    bool enabled() const { return ahead_ > 0 && budget_ > 0; }

private:
    int ahead_;
    size_t budget_;
    std::vector<std::vector<Range>> plan_, trace_;
    size_t cursor_ = 0;  // where the plan's next product is expected
};

}  // namespace apr::model
