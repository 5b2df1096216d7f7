// How much a parallel region costs when the work inside it is tens of
// microseconds (one matmul of a decode step): oneTBB's parallel_for in a
// task arena (what the CPU backend uses) against a spinning barrier pool
// (workers spin on a generation counter, claim tasks from an atomic index,
// the caller spins until all are done), both with the same threads and the
// same work split. Reported per region: real time, and the overhead over
// the same work done serially divided by the thread count.
//
//   build/bench/bench_threading --benchmark_min_time=0.2
//   APR_THREADS=2 (default: all cores)
#include <benchmark/benchmark.h>

#include <immintrin.h>

#include <atomic>
#include <cstdlib>
#include <thread>
#include <vector>

#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>
#include <tbb/task_arena.h>

namespace {

int thread_count() {
    if (const char* env = std::getenv("APR_THREADS"); env && std::atoi(env) > 0) return std::atoi(env);
    return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

// ~`units` x 10 ns of dependent arithmetic: stands in for a kernel's chunk.
__attribute__((noinline)) uint64_t work(uint64_t seed, int units) {
    uint64_t x = seed;
    for (int i = 0; i < units * 8; ++i) x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    return x;
}

// Workers spin on `generation`; a job is `tasks` calls of work(); the caller
// takes part and spins until every worker has reported.
class SpinPool {
public:
    explicit SpinPool(int threads) {
        for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { loop(); });
    }
    ~SpinPool() {
        stop_.store(true, std::memory_order_release);
        generation_.fetch_add(1, std::memory_order_release);
        for (auto& t : workers_) t.join();
    }
    void run(int64_t tasks, int units) {
        tasks_ = tasks;
        units_ = units;
        next_.store(0, std::memory_order_relaxed);
        done_.store(0, std::memory_order_relaxed);
        generation_.fetch_add(1, std::memory_order_release);
        claim();
        while (done_.load(std::memory_order_acquire) != static_cast<int>(workers_.size())) _mm_pause();
    }
    uint64_t sink() const { return sink_.load(); }

private:
    void claim() {
        uint64_t acc = 0;
        for (int64_t t; (t = next_.fetch_add(1, std::memory_order_relaxed)) < tasks_;) acc ^= work(static_cast<uint64_t>(t), units_);
        sink_.fetch_xor(acc, std::memory_order_relaxed);
    }
    void loop() {
        uint64_t seen = generation_.load(std::memory_order_acquire);
        for (;;) {
            uint64_t g;
            while ((g = generation_.load(std::memory_order_acquire)) == seen) _mm_pause();
            seen = g;
            if (stop_.load(std::memory_order_acquire)) return;
            claim();
            done_.fetch_add(1, std::memory_order_release);
        }
    }
    std::vector<std::thread> workers_;
    std::atomic<uint64_t> generation_{0};
    std::atomic<int64_t> next_{0};
    std::atomic<int> done_{0};
    std::atomic<bool> stop_{false};
    std::atomic<uint64_t> sink_{0};
    int64_t tasks_ = 0;
    int units_ = 0;
};

// state.range(0): microseconds of work per region (split into 8 tasks per thread).
void BM_tbb_arena(benchmark::State& state) {
    const int threads = thread_count();
    const int64_t tasks = 8 * threads;
    const int units = static_cast<int>(state.range(0) * 100 * threads / tasks);
    tbb::task_arena arena(threads);
    std::atomic<uint64_t> sink{0};
    for (auto _ : state) {
        arena.execute([&] {
            tbb::parallel_for(
                tbb::blocked_range<int64_t>(0, tasks, 1),
                [&](const tbb::blocked_range<int64_t>& r) {
                    for (int64_t t = r.begin(); t < r.end(); ++t)
                        sink.fetch_xor(work(static_cast<uint64_t>(t), units), std::memory_order_relaxed);
                },
                tbb::simple_partitioner());
        });
    }
    benchmark::DoNotOptimize(sink.load());
    state.counters["threads"] = threads;
}

void BM_spin_pool(benchmark::State& state) {
    const int threads = thread_count();
    const int64_t tasks = 8 * threads;
    const int units = static_cast<int>(state.range(0) * 100 * threads / tasks);
    SpinPool pool(threads);
    for (auto _ : state) pool.run(tasks, units);
    benchmark::DoNotOptimize(pool.sink());
    state.counters["threads"] = threads;
}

void BM_serial(benchmark::State& state) {
    const int threads = thread_count();
    const int64_t tasks = 8 * threads;
    const int units = static_cast<int>(state.range(0) * 100 * threads / tasks);
    uint64_t sink = 0;
    for (auto _ : state)
        for (int64_t t = 0; t < tasks; ++t) sink ^= work(static_cast<uint64_t>(t), units);
    benchmark::DoNotOptimize(sink);
}

}  // namespace

// Alternating registrations so a change in the machine's load hits both.
BENCHMARK(BM_serial)->Arg(20)->Arg(100)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_tbb_arena)->Arg(20)->Arg(100)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_spin_pool)->Arg(20)->Arg(100)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_tbb_arena)->Arg(20)->Arg(100)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_spin_pool)->Arg(20)->Arg(100)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK_MAIN();
