#include "bench_report.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace apr::cli {
namespace {

// JSON string body (the model path may hold any byte).
std::string json_escape(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20) {
            out += fmt::format("\\u{:04x}", c);
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

}  // namespace

BenchSummary summarize(const std::vector<double>& samples) {
    if (samples.empty()) throw std::invalid_argument("summarize: no samples");
    std::vector<double> v = samples;
    std::sort(v.begin(), v.end());
    BenchSummary s;
    const size_t n = v.size();
    s.median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
    s.mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(n);
    double sq = 0;
    for (double x : v) sq += (x - s.mean) * (x - s.mean);
    s.stddev = n > 1 ? std::sqrt(sq / static_cast<double>(n - 1)) : 0.0;
    s.min = v.front();
    s.max = v.back();
    return s;
}

void print_bench_table(const BenchContext& ctx, const std::vector<BenchTest>& tests) {
    fmt::print("model {}\nthreads {}, simd {}, kv cache {}, context {}, repetitions {}\n\n", ctx.model, ctx.threads,
               ctx.simd, ctx.kv_type, ctx.context, ctx.repetitions);
    fmt::print("| {:<18} | {:>10} | {:>10} | {:>10} | {:>10} |\n", "test", "median", "mean ± sd", "min", "max");
    fmt::print("|{:-<20}|{:->12}|{:->12}|{:->12}|{:->12}|\n", "", ":", ":", ":", ":");
    for (const BenchTest& t : tests) {
        const BenchSummary s = summarize(t.tok_s);
        fmt::print("| {:<18} | {:>10.2f} | {:>10} | {:>10.2f} | {:>10.2f} |\n", t.name, s.median,
                   fmt::format("{:.2f} ± {:.2f}", s.mean, s.stddev), s.min, s.max);
    }
    std::fflush(stdout);
}

void print_bench_json(const BenchContext& ctx, const std::vector<BenchTest>& tests) {
    fmt::print("{{\"model\": \"{}\", \"threads\": {}, \"simd\": \"{}\", \"kv_type\": \"{}\", \"context\": {}, "
               "\"repetitions\": {}, \"tests\": [",
               json_escape(ctx.model), ctx.threads, ctx.simd, ctx.kv_type, ctx.context, ctx.repetitions);
    for (size_t i = 0; i < tests.size(); ++i) {
        const BenchTest& t = tests[i];
        const BenchSummary s = summarize(t.tok_s);
        std::string samples;
        for (size_t j = 0; j < t.tok_s.size(); ++j) samples += fmt::format("{}{:.4f}", j ? ", " : "", t.tok_s[j]);
        fmt::print("{}\n  {{\"test\": \"{}\", \"kind\": \"{}\", \"tokens\": {}, \"depth\": {}, \"median_tok_s\": {:.4f}, "
                   "\"mean_tok_s\": {:.4f}, \"stddev_tok_s\": {:.4f}, \"min_tok_s\": {:.4f}, \"max_tok_s\": {:.4f}, "
                   "\"samples_tok_s\": [{}]}}",
                   i ? "," : "", t.name, t.kind, t.tokens, t.depth, s.median, s.mean, s.stddev, s.min, s.max, samples);
    }
    fmt::print("\n]}}\n");
    std::fflush(stdout);
}

std::vector<std::string> tests_below(const std::vector<BenchTest>& tests, double floor) {
    std::vector<std::string> out;
    for (const BenchTest& t : tests) {
        const double median = summarize(t.tok_s).median;
        if (median < floor) out.push_back(fmt::format("{}: {:.2f} tok/s < {:g}", t.name, median, floor));
    }
    return out;
}

}  // namespace apr::cli
