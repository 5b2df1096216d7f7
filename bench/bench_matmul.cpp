// Microbenchmarks of the CPU kernels at Qwen2.5-1.5B shapes: quantized
// matmul (generation T=1 = matvec, prompt T=128 = matmul), in the file's
// layout and repacked (cpu/repack.hpp, what the CPU backend runs for Q4_K /
// Q6_K at the AVX2 level), and the activation quantizer.
// Reports weight GB/s and its share of the machine's read bandwidth, which
// this program measures first with a plain streaming read on the same
// threads (tbb default arena: all cores).
//
//   build-kernels/bench/bench_kernels --benchmark_min_time=0.2
//   APR_SIMD=avx2 build-kernels/bench/bench_kernels ...   (another SIMD level)
#include <benchmark/benchmark.h>

#include <immintrin.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <cstring>
#include <random>
#include <vector>

#include <tbb/global_control.h>
#include <tbb/parallel_for.h>
#include <tbb/parallel_reduce.h>
#include <tbb/task_arena.h>

#include "core/half.hpp"
#include "cpu/matmul.hpp"
#include "cpu/quant_dot.hpp"
#include "cpu/repack.hpp"

using namespace apr;

namespace {

// --- Read bandwidth: sum a 1 GiB buffer (far larger than any cache). ---

__attribute__((target("avx2"))) uint64_t sum_bytes_avx2(const std::byte* p, size_t n) {
    __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
    for (size_t i = 0; i + 64 <= n; i += 64) {
        acc0 = _mm256_xor_si256(acc0, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i)));
        acc1 = _mm256_xor_si256(acc1, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
    }
    alignas(32) uint64_t lanes[4];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), _mm256_xor_si256(acc0, acc1));
    return lanes[0] ^ lanes[1] ^ lanes[2] ^ lanes[3];
}

struct BandwidthBuffer {
    std::byte* data;
    size_t bytes = size_t{1} << 30;
    BandwidthBuffer() {
        data = static_cast<std::byte*>(std::aligned_alloc(4096, bytes));
        tbb::parallel_for(size_t{0}, bytes / 4096, [&](size_t i) { std::memset(data + i * 4096, int(i), 4096); });
    }
    ~BandwidthBuffer() { std::free(data); }
    uint64_t read_all() const {
        const size_t chunk = size_t{1} << 22;
        return tbb::parallel_reduce(
            tbb::blocked_range<size_t>(0, bytes / chunk), uint64_t{0},
            [&](const tbb::blocked_range<size_t>& r, uint64_t acc) {
                for (size_t c = r.begin(); c < r.end(); ++c) acc ^= sum_bytes_avx2(data + c * chunk, chunk);
                return acc;
            },
            [](uint64_t a, uint64_t b) { return a ^ b; });
    }
};

// Best of a few passes, in bytes per second; measured once per process.
double read_bandwidth() {
    static const double bw = [] {
        BandwidthBuffer buf;
        double best = 0;
        for (int rep = 0; rep < 5; ++rep) {
            const auto t0 = std::chrono::steady_clock::now();
            benchmark::DoNotOptimize(buf.read_all());
            const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            best = std::max(best, static_cast<double>(buf.bytes) / s);
        }
        return best;
    }();
    return bw;
}

void BM_read_bandwidth(benchmark::State& state) {
    BandwidthBuffer buf;
    for (auto _ : state) benchmark::DoNotOptimize(buf.read_all());
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * buf.bytes));
}

// --- Matmul ---

// Random blocks with sane half-float scales: the kernels' speed does not
// depend on the values, and this is much faster than quantizing.
std::vector<std::byte> random_weights(DType type, int64_t rows, int64_t cols) {
    const size_t bytes = dtype_bytes(type, rows * cols);
    std::vector<std::byte> w(bytes);
    std::mt19937_64 rng(42);
    for (size_t i = 0; i + 8 <= bytes; i += 8) {
        const uint64_t v = rng();
        std::memcpy(w.data() + i, &v, 8);
    }
    const DTypeInfo* info = dtype_info(type);
    const uint16_t scale = f32_to_f16(0.01f);
    // Offsets of the f16 scale fields inside a block.
    std::vector<size_t> fields;
    switch (type) {
        case DType::Q4_K: case DType::Q5_K: case DType::Q4_1: case DType::Q5_1: fields = {0, 2}; break;
        case DType::Q6_K: fields = {208}; break;
        case DType::Q8_0: case DType::Q4_0: case DType::Q5_0: fields = {0}; break;
        case DType::F16: case DType::BF16: case DType::F32: fields = {}; break;
        default: break;
    }
    if (type == DType::F16 || type == DType::BF16 || type == DType::F32) {
        std::vector<float> f(static_cast<size_t>(rows * cols));
        std::normal_distribution<float> normal(0.0f, 0.05f);
        for (auto& v : f) v = normal(rng);
        for (size_t i = 0; i < f.size(); ++i) {
            if (type == DType::F32) std::memcpy(w.data() + 4 * i, &f[i], 4);
            else {
                const uint16_t h = type == DType::F16 ? f32_to_f16(f[i]) : f32_to_bf16(f[i]);
                std::memcpy(w.data() + 2 * i, &h, 2);
            }
        }
    }
    for (size_t b = 0; b < bytes / info->block_bytes; ++b)
        for (size_t off : fields) std::memcpy(w.data() + b * info->block_bytes + off, &scale, 2);
    return w;
}

void BM_matmul(benchmark::State& state, DType type, int64_t n, int64_t k, bool repacked) {
    const int64_t t = state.range(0);
    const cpu::SimdLevel level = cpu::selected_simd_level();
    if (repacked && !cpu::repack_supported(type, n, k, level)) {
        state.SkipWithError("no repacked kernels for this type at this SIMD level");
        return;
    }
    std::vector<std::byte> w = random_weights(type, n, k);
    if (repacked) {
        std::vector<std::byte> packed(cpu::repacked_bytes(type, n, k, level));
        cpu::repack_rows(type, w.data(), k, 0, n, packed.data(), level);
        w = std::move(packed);
    }
    // Generation streams a model far larger than the caches: for T=1 cycle
    // through copies of the weights totalling more than a 32 MiB L3, so each
    // call reads its weights from memory, as in a real forward pass.
    const size_t copies = t == 1 ? (size_t{96} << 20) / w.size() + 1 : 1;
    std::vector<std::byte> all(w.size() * copies);
    for (size_t c = 0; c < copies; ++c) std::memcpy(all.data() + c * w.size(), w.data(), w.size());
    std::vector<float> x(static_cast<size_t>(t * k)), y(static_cast<size_t>(t * n));
    std::mt19937 rng(1);
    std::normal_distribution<float> normal;
    for (auto& v : x) v = normal(rng);
    size_t next = 0;
    for (auto _ : state) {
        const std::byte* data = all.data() + next * w.size();
        next = next + 1 == copies ? 0 : next + 1;
        if (repacked)
            cpu::matmul_repacked_f32(cpu::RepackedWeight{type, data, n, k}, x.data(), t, y.data(), level);
        else
            cpu::matmul(cpu::MatmulWeight{type, data, n, k}, x.data(), t, y.data(), level);
        benchmark::ClobberMemory();
    }
    const double bytes = static_cast<double>(w.size());
    state.counters["weight_GB/s"] = benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
    state.counters["tok/s"] = benchmark::Counter(static_cast<double>(t), benchmark::Counter::kIsIterationInvariantRate);
    state.counters["GFLOP/s"] =
        benchmark::Counter(2.0 * static_cast<double>(n * k * t) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
    state.SetLabel(std::string(cpu::simd_level_name(level)));
}

// Share of the measured read bandwidth, added after the run (the rate
// counters are only final then).
class BandwidthShareReporter : public benchmark::ConsoleReporter {
public:
    void ReportRuns(const std::vector<Run>& runs) override {
        std::vector<Run> copy = runs;
        for (auto& run : copy) {
            auto it = run.counters.find("weight_GB/s");
            if (it == run.counters.end()) continue;
            // Counters reach the reporter already divided by the time.
            run.counters["bw_share_%"] = benchmark::Counter(100.0 * it->second.value * 1e9 / read_bandwidth());
        }
        ConsoleReporter::ReportRuns(copy);
    }
};

void BM_quantize(benchmark::State& state, DType weight) {
    const int64_t k = state.range(0);
    const cpu::SimdLevel level = cpu::selected_simd_level();
    std::vector<float> x(static_cast<size_t>(k));
    std::mt19937 rng(3);
    std::normal_distribution<float> normal;
    for (auto& v : x) v = normal(rng);
    std::vector<std::byte> out(cpu::activation_row_bytes(weight, k));
    for (auto _ : state) {
        cpu::quantize_activation_row(weight, x.data(), out.data(), k, level);
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * k * sizeof(float)));
    state.SetLabel(std::string(dtype_name(cpu::activation_type(weight))) + " " +
                   std::string(cpu::simd_level_name(level)));
}

std::string fmt_name(DType type, int64_t n, int64_t k, bool repacked) {
    return "matmul/" + std::string(dtype_name(type)) + "/N" + std::to_string(n) + "xK" + std::to_string(k) +
           (repacked ? "/repacked" : "/file") + "/T";
}

}  // namespace

int main(int argc, char** argv) {
    // The console reporter adds each matmul's share of the measured read
    // bandwidth; with --benchmark_format=json|csv Google Benchmark's own
    // reporter runs instead (without that column).
    bool console = true;
    for (int i = 1; i < argc; ++i)
        if (std::strncmp(argv[i], "--benchmark_format=", 19) == 0 && std::strcmp(argv[i] + 19, "console") != 0)
            console = false;
    benchmark::Initialize(&argc, argv);
    // APR_THREADS=n limits the threads (default: all cores). With one thread
    // on a busy machine the CPU-time column is the kernel's own cost.
    std::unique_ptr<tbb::global_control> limit;
    if (const char* env = std::getenv("APR_THREADS"); env && std::atoi(env) > 0)
        limit = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism, std::atoi(env));
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RegisterBenchmark("read_bandwidth", BM_read_bandwidth)->Unit(benchmark::kMillisecond)->UseRealTime();
    // Qwen2.5-1.5B: q/o and k/v (1536 -> 1536, 256), gate/up (1536 -> 8960),
    // down (8960 -> 1536), LM head (1536 -> 151936, generation only: prompt
    // processing needs the logits of the last token). Shapes are N x K.
    const std::pair<int64_t, int64_t> shapes[] = {{1536, 1536}, {8960, 1536}, {1536, 8960}, {256, 1536}, {151936, 1536}};
    for (DType type : {DType::Q4_K, DType::Q6_K, DType::Q8_0}) {
        for (auto [n, k] : shapes) {
            for (bool repacked : {false, true}) {
                if (repacked && type == DType::Q8_0) continue;  // no repacked layout for Q8_0
                const std::string name = fmt_name(type, n, k, repacked);
                auto* b = benchmark::RegisterBenchmark(name.c_str(), BM_matmul, type, n, k, repacked)->Arg(1);
                if (n != 151936) b->Arg(128);
                b->Unit(benchmark::kMicrosecond)->UseRealTime();
            }
        }
    }
    for (DType type : {DType::Q4_K, DType::Q8_0, DType::Q4_1})
        benchmark::RegisterBenchmark((std::string("quantize_activations/") + std::string(dtype_name(cpu::activation_type(type)))).c_str(),
                                     BM_quantize, type)
            ->Arg(1536)->Arg(8960)->UseRealTime();
    std::printf("measured read bandwidth (all threads): %.1f GB/s\n", read_bandwidth() * 1e-9);
    if (console) {
        BandwidthShareReporter reporter;
        benchmark::RunSpecifiedBenchmarks(&reporter);
    } else {
        benchmark::RunSpecifiedBenchmarks();
    }
    benchmark::Shutdown();
    return 0;
}
