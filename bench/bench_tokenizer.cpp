// Tokenizer throughput on source code, with the Qwen2.5 vocabulary
// (151,665 tokens) from the shared fixtures, in MB/s (10^6 bytes) on one core.
//
//   bench_tokenizer [--benchmark_filter=...]
//
// The text is Python-like code generated from a fixed seed (about 4 MB, with
// identifiers varied enough that the word cache does not see only repeats).
// Set APR_BENCH_TEXT to a file to tokenize that instead (e.g. a concatenation
// of the Python standard library). APR_FIXTURES_DIR overrides the fixtures.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "apr/tokenizer.hpp"

namespace {

std::filesystem::path fixtures_dir() {
    if (const char* env = std::getenv("APR_FIXTURES_DIR"); env && *env) return env;
    return APR_BENCH_FIXTURES_DIR;
}

std::filesystem::path vocab_path() { return fixtures_dir() / "qwen2.5-tokenizer" / "qwen2.5-vocab.gguf"; }

// Code in the style of the Python standard library: classes, defs, calls,
// comments, string literals, numbers and indentation.
std::string generated_code(size_t target_bytes) {
    static const char* const kWords[] = {
        "self", "value", "name", "result", "data", "index", "count", "items", "path", "buffer", "config", "parser",
        "token", "stream", "header", "offset", "length", "cache", "module", "handler", "request", "response",
        "encode", "decode", "format", "update", "append", "extend", "remove", "insert", "lookup", "default",
        "timeout", "context", "manager", "error", "message", "record", "field", "schema", "node", "tree"};
    std::mt19937 rng(12345);
    auto word = [&] { return std::string(kWords[rng() % std::size(kWords)]); };
    auto ident = [&] {
        std::string id = word();
        if (rng() % 2) id += "_" + word();
        if (rng() % 5 == 0) id += std::to_string(rng() % 100);
        return id;
    };
    std::ostringstream out;
    while (static_cast<size_t>(out.tellp()) < target_bytes) {
        std::string cls = word();
        cls[0] = static_cast<char>(cls[0] - 'a' + 'A');
        out << "class " << cls << "Error(Exception):\n    \"\"\"Raised when the " << word() << " is invalid.\"\"\"\n\n\n";
        out << "class " << cls << ":\n    def __init__(self, " << ident() << ", " << ident() << "=None):\n";
        for (int i = 0, n = 2 + int(rng() % 4); i < n; ++i)
            out << "        self._" << ident() << " = " << ident() << "\n";
        for (int f = 0, nf = 2 + int(rng() % 4); f < nf; ++f) {
            out << "\n    def " << ident() << "(self, " << ident() << ", *args, **kwargs):\n";
            out << "        # " << word() << " the " << word() << " before " << word() << "ing it\n";
            for (int s = 0, ns = 2 + int(rng() % 6); s < ns; ++s) {
                switch (rng() % 5) {
                    case 0: out << "        if " << ident() << " is None:\n            return " << rng() % 1000 << "\n"; break;
                    case 1: out << "        for " << ident() << " in range(len(self." << ident() << ")):\n            "
                                << ident() << ".append(" << ident() << "[" << rng() % 16 << "])\n"; break;
                    case 2: out << "        " << ident() << " = self." << ident() << ".get('" << word() << "', "
                                << rng() % 256 << ")\n"; break;
                    case 3: out << "        raise " << cls << "Error(f\"bad " << word() << ": {" << ident() << "!r}\")\n"; break;
                    default: out << "        return self." << ident() << "(" << ident() << ", " << ident() << ")\n"; break;
                }
            }
        }
        out << "\n\n";
    }
    return out.str();
}

const std::string& bench_text() {
    static const std::string text = [] {
        if (const char* path = std::getenv("APR_BENCH_TEXT"); path && *path) {
            std::ifstream in(path, std::ios::binary);
            std::ostringstream s;
            s << in.rdbuf();
            return s.str();
        }
        return generated_code(4 << 20);
    }();
    return text;
}

void report(benchmark::State& state, size_t bytes_per_iteration) {
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes_per_iteration));
    state.counters["MB/s"] = benchmark::Counter(static_cast<double>(state.iterations() * bytes_per_iteration) / 1e6,
                                                benchmark::Counter::kIsRate);
}

// Every iteration starts with an empty word cache (a fresh tokenizer, loaded
// outside the timed region): the speed of a text seen for the first time.
void BM_EncodeColdCache(benchmark::State& state) {
    const std::string& text = bench_text();
    for (auto _ : state) {
        state.PauseTiming();
        auto tok = apr::Tokenizer::from_file(vocab_path());
        state.ResumeTiming();
        benchmark::DoNotOptimize(tok->encode(text));
        state.PauseTiming();
        tok.reset();
        state.ResumeTiming();
    }
    report(state, text.size());
}
BENCHMARK(BM_EncodeColdCache)->Unit(benchmark::kMillisecond)->Iterations(3);

// The same tokenizer throughout: the steady state of a long-running process.
void BM_EncodeWarmCache(benchmark::State& state) {
    const std::string& text = bench_text();
    const auto tok = apr::Tokenizer::from_file(vocab_path());
    for (auto _ : state) benchmark::DoNotOptimize(tok->encode(text));
    report(state, text.size());
}
BENCHMARK(BM_EncodeWarmCache)->Unit(benchmark::kMillisecond);

void BM_Decode(benchmark::State& state) {
    const std::string& text = bench_text();
    const auto tok = apr::Tokenizer::from_file(vocab_path());
    const std::vector<int32_t> ids = tok->encode(text);
    for (auto _ : state) benchmark::DoNotOptimize(tok->decode(ids));
    report(state, text.size());
    state.counters["tokens"] = static_cast<double>(ids.size());
}
BENCHMARK(BM_Decode)->Unit(benchmark::kMillisecond);

void BM_LoadGguf(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(apr::Tokenizer::from_file(vocab_path()));
}
BENCHMARK(BM_LoadGguf)->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_LoadTokenizerJson(benchmark::State& state) {
    const auto path = fixtures_dir() / "qwen2.5-tokenizer" / "tokenizer.json";
    for (auto _ : state) benchmark::DoNotOptimize(apr::Tokenizer::from_file(path));
}
BENCHMARK(BM_LoadTokenizerJson)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
