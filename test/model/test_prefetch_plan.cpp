// PrefetchPlan (lib/model/prefetch_plan.hpp): what each decode product is
// told to bring into the L2, learned from the step before.
#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "model/prefetch_plan.hpp"

using apr::model::PrefetchPlan;
using Range = PrefetchPlan::Range;

namespace {
// Fake weights: distinct addresses inside one array (never read).
uint8_t weights[64];
Range w(int i, size_t bytes) { return {weights + i, bytes}; }

// One step of products, each a list of weights; returns what each was given.
std::vector<std::vector<Range>> step(PrefetchPlan& plan, const std::vector<std::vector<Range>>& products,
                                     size_t max_ranges = 8) {
    plan.begin_step();
    std::vector<std::vector<Range>> given;
    for (const auto& reads : products) given.push_back(plan.next(reads, max_ranges));
    return given;
}
}  // namespace

TEST_CASE("prefetch plan: each product gets the next products' weights of the step before, wrapping around") {
    PrefetchPlan plan(2, 1000);
    const std::vector<std::vector<Range>> products = {{w(0, 10), w(1, 20), w(2, 30)}, {w(3, 40)}, {w(4, 50), w(5, 60)},
                                                      {w(6, 70)}};
    // The first step has no plan yet.
    for (const auto& g : step(plan, products)) CHECK(g.empty());
    const auto given = step(plan, products);
    REQUIRE(given.size() == 4);
    CHECK(given[0] == std::vector<Range>{w(3, 40), w(4, 50), w(5, 60)});
    CHECK(given[1] == std::vector<Range>{w(4, 50), w(5, 60), w(6, 70)});
    CHECK(given[2] == std::vector<Range>{w(6, 70), w(0, 10), w(1, 20), w(2, 30)});  // the next step's first
    CHECK(given[3] == std::vector<Range>{w(0, 10), w(1, 20), w(2, 30), w(3, 40)});
    // Steady: the same again.
    CHECK(step(plan, products) == given);
}

TEST_CASE("prefetch plan: the byte budget cuts the last range short, and the range count is bounded") {
    PrefetchPlan plan(2, 100);
    const std::vector<std::vector<Range>> products = {{w(0, 10)}, {w(1, 80)}, {w(2, 60)}};
    step(plan, products);
    const auto given = step(plan, products);
    CHECK(given[0] == std::vector<Range>{w(1, 80), w(2, 20)});
    CHECK(given[1] == std::vector<Range>{w(2, 60), w(0, 10)});
    const auto capped = step(plan, products, 1);
    CHECK(capped[0] == std::vector<Range>{w(1, 80)});
    CHECK(capped[1] == std::vector<Range>{w(2, 60)});
}

TEST_CASE("prefetch plan: a product the plan does not know gets nothing; a skipped one is found again") {
    PrefetchPlan plan(1, 1000);
    step(plan, {{w(0, 8)}, {w(1, 8)}, {w(2, 8)}, {w(3, 8)}});
    plan.begin_step();
    CHECK(plan.next(std::vector<Range>{w(9, 8)}, 8).empty());                         // not in the plan
    CHECK(plan.next(std::vector<Range>{w(2, 8)}, 8) == std::vector<Range>{w(3, 8)});  // 0 and 1 skipped
    CHECK(plan.next(std::vector<Range>{w(3, 8)}, 8) == std::vector<Range>{w(0, 8)});
    // That step's trace (9, 2, 3) is the plan now.
    plan.begin_step();
    CHECK(plan.next(std::vector<Range>{w(9, 8)}, 8) == std::vector<Range>{w(2, 8)});
}

TEST_CASE("prefetch plan: off, or one product a step, prefetches nothing") {
    PrefetchPlan off(0, 1000);
    CHECK_FALSE(off.enabled());
    step(off, {{w(0, 8)}, {w(1, 8)}});
    for (const auto& g : step(off, {{w(0, 8)}, {w(1, 8)}})) CHECK(g.empty());
    PrefetchPlan one(2, 1000);
    step(one, {{w(0, 8)}});
    for (const auto& g : step(one, {{w(0, 8)}})) CHECK(g.empty());
    // A step with no products keeps the plan.
    PrefetchPlan keep(1, 1000);
    step(keep, {{w(0, 8)}, {w(1, 8)}});
    step(keep, {});
    CHECK(step(keep, {{w(0, 8)}, {w(1, 8)}})[0] == std::vector<Range>{w(1, 8)});
}
