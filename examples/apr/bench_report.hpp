// The results side of `apr bench`: each test (ppN / tgN at a depth) is run
// --repetitions times; its tok/s are summarized as llama-bench does (mean
// and standard deviation) plus the median, min and max, printed as a
// Markdown table or as JSON (--json), and checked against
// --assert-min-tok-s (the median of every test must reach the floor).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace apr::cli {

struct BenchTest {
    std::string name;  // "pp128 @ d0"
    std::string kind;  // "pp" or "tg"
    int64_t tokens = 0;
    int64_t depth = 0;
    std::vector<double> tok_s;  // one per repetition
};

struct BenchSummary {
    double median = 0, mean = 0, stddev = 0, min = 0, max = 0;
};

// Throws UsageError-free std::invalid_argument for an empty sample.
BenchSummary summarize(const std::vector<double>& samples);

struct BenchContext {
    std::string model;
    int threads = 0;
    std::string kv_type;
    int64_t context = 0;
    int64_t repetitions = 0;
    std::string simd;
};

void print_bench_table(const BenchContext& ctx, const std::vector<BenchTest>& tests);
void print_bench_json(const BenchContext& ctx, const std::vector<BenchTest>& tests);

// The tests whose median is below `floor` tok/s, as "pp128 @ d0: 12.3 < 20"
// lines (empty when every test reaches it).
std::vector<std::string> tests_below(const std::vector<BenchTest>& tests, double floor);

}  // namespace apr::cli
