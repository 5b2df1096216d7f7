// The machine's measured memory bandwidth and f32 compute peak, for the
// roofline of --profile; measured once and cached per CPU and thread count.
#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "apr/trace.hpp"

namespace apr::trace {
namespace {

std::string cpu_name() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("model name", 0) == 0) {
            const size_t colon = line.find(':');
            if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
        }
    return "unknown CPU";
}

// The largest CPU cache (sysfs "32768K"); 0 when unknown.
int64_t last_level_cache_bytes() {
    int64_t best = 0;
    for (int index = 0; index < 8; ++index) {
        std::ifstream in(fmt::format("/sys/devices/system/cpu/cpu0/cache/index{}/size", index));
        std::string text;
        if (!(in >> text) || text.empty()) continue;
        int64_t value = 0;
        size_t i = 0;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') value = value * 10 + (text[i++] - '0');
        const char unit = i < text.size() ? text[i] : ' ';
        value *= unit == 'K' ? 1024 : unit == 'M' ? 1024 * 1024 : 1;
        best = std::max(best, value);
    }
    return best;
}

template <typename Fn>
double run_threads(int threads, const Fn& fn) {
    std::vector<std::thread> pool;
    const auto start = std::chrono::steady_clock::now();
    for (int t = 0; t < threads; ++t) pool.emplace_back(fn, t);
    for (auto& th : pool) th.join();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Read bandwidth: every thread sums its share of a buffer far larger than the caches.
double measure_bandwidth(int threads) {
    const size_t floats = size_t{64} << 20;  // 256 MiB
    std::unique_ptr<float[]> data(new float[floats]);
    for (size_t i = 0; i < floats; i += 1024) data[i] = 1.0f;  // touch every page
    std::fill_n(data.get(), floats, 1.0f);
    std::vector<double> sums(static_cast<size_t>(threads));
    double best = 1e30;
    for (int rep = 0; rep < 3; ++rep) {
        const double s = run_threads(threads, [&](int t) {
            const size_t per = floats / static_cast<size_t>(threads);
            const float* p = data.get() + per * static_cast<size_t>(t);
            float acc[16] = {};
            for (size_t i = 0; i + 16 <= per; i += 16)
                for (int j = 0; j < 16; ++j) acc[j] += p[i + j];
            double total = 0;
            for (float a : acc) total += a;
            sums[static_cast<size_t>(t)] = total;
        });
        best = std::min(best, s);
    }
    return static_cast<double>(floats * sizeof(float)) / best / 1e9;
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) double fma_loop_avx2(int64_t iterations) {
    // Chains that start apart: equal ones compute the same values, and a
    // compiler may fold them into one (the GPU's first tensor-core probe was).
    __m256 a0 = _mm256_set1_ps(1.0f), a1 = _mm256_set1_ps(1.1f), a2 = _mm256_set1_ps(1.2f), a3 = _mm256_set1_ps(1.3f),
           a4 = _mm256_set1_ps(1.4f), a5 = _mm256_set1_ps(1.5f), a6 = _mm256_set1_ps(1.6f), a7 = _mm256_set1_ps(1.7f);
    const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    for (int64_t i = 0; i < iterations; ++i) {
        a0 = _mm256_fmadd_ps(a0, m, c); a1 = _mm256_fmadd_ps(a1, m, c);
        a2 = _mm256_fmadd_ps(a2, m, c); a3 = _mm256_fmadd_ps(a3, m, c);
        a4 = _mm256_fmadd_ps(a4, m, c); a5 = _mm256_fmadd_ps(a5, m, c);
        a6 = _mm256_fmadd_ps(a6, m, c); a7 = _mm256_fmadd_ps(a7, m, c);
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                             _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0];
}

// The same with 16-wide vectors: a CPU with AVX-512 does twice the FLOPs per
// instruction, and its kernels use them.
__attribute__((target("avx512f"))) double fma_loop_avx512(int64_t iterations) {
    __m512 a0 = _mm512_set1_ps(1.0f), a1 = _mm512_set1_ps(1.1f), a2 = _mm512_set1_ps(1.2f), a3 = _mm512_set1_ps(1.3f),
           a4 = _mm512_set1_ps(1.4f), a5 = _mm512_set1_ps(1.5f), a6 = _mm512_set1_ps(1.6f), a7 = _mm512_set1_ps(1.7f);
    const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    for (int64_t i = 0; i < iterations; ++i) {
        a0 = _mm512_fmadd_ps(a0, m, c); a1 = _mm512_fmadd_ps(a1, m, c);
        a2 = _mm512_fmadd_ps(a2, m, c); a3 = _mm512_fmadd_ps(a3, m, c);
        a4 = _mm512_fmadd_ps(a4, m, c); a5 = _mm512_fmadd_ps(a5, m, c);
        a6 = _mm512_fmadd_ps(a6, m, c); a7 = _mm512_fmadd_ps(a7, m, c);
    }
    const __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                                   _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
    float out[16];
    _mm512_storeu_ps(out, s);
    return out[0];
}
#endif

double fma_loop_portable(int64_t iterations) {
    float a[32];
    std::fill_n(a, 32, 1.0f);
    for (int64_t i = 0; i < iterations; ++i)
        for (float& v : a) v = v * 0.999999f + 1e-7f;
    return a[0];
}

// f32 multiply-add throughput: 8 independent chains per thread, with the
// widest vectors the CPU has (AVX-512, AVX2+FMA, else scalar).
double measure_gflops(int threads) {
    int width = 0;  // floats per vector; 0: portable loop
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f")) width = 16;
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) width = 8;
#endif
    const int64_t iterations = 20'000'000;
    std::vector<double> sink(static_cast<size_t>(threads));
    const double s = run_threads(threads, [&](int t) {
#if defined(__x86_64__)
        sink[static_cast<size_t>(t)] = width == 16 ? fma_loop_avx512(iterations)
                                       : width == 8 ? fma_loop_avx2(iterations)
                                                    : fma_loop_portable(iterations);
#else
        sink[static_cast<size_t>(t)] = fma_loop_portable(iterations);
#endif
    });
    const double flops_per_iteration = width > 0 ? 8.0 * width * 2 : 32 * 2;
    return static_cast<double>(threads) * static_cast<double>(iterations) * flops_per_iteration / s / 1e9;
}

std::string entry_json(const MachinePeaks& p) {
    std::string cpu;
    for (char ch : p.cpu)
        if (ch != '"' && ch != '\\' && static_cast<unsigned char>(ch) >= 0x20) cpu += ch;
    return fmt::format("{{\"cpu\": \"{}\", \"threads\": {}, \"bandwidth_gbs\": {:.3f}, \"gflops\": {:.3f}{}}}", cpu,
                       p.threads, p.bandwidth_gbs, p.gflops,
                       p.gpu ? fmt::format(", \"gpu\": true, \"l2_bytes\": {}", p.llc_bytes) : "");
}

}  // namespace

MachinePeaks measure_peaks(int threads) {
    if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    MachinePeaks p;
    p.cpu = cpu_name();
    p.threads = threads;
    p.bandwidth_gbs = measure_bandwidth(threads);
    p.gflops = measure_gflops(threads);
    p.llc_bytes = last_level_cache_bytes();
    return p;
}

std::filesystem::path default_peaks_cache() {
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg == '/')
        return std::filesystem::path(xdg) / "apr" / "machine_peaks.json";
    if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0')
        return std::filesystem::path(home) / ".cache" / "apr" / "machine_peaks.json";
    return {};
}

namespace {

// Every entry of the cache file (none when it is missing or unreadable).
std::vector<MachinePeaks> read_cache(const std::filesystem::path& cache_file) {
    std::vector<MachinePeaks> entries;
    if (cache_file.empty()) return entries;
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    simdjson::dom::array list;
    if (parser.load(cache_file.string()).get(doc) || doc["machines"].get_array().get(list)) return entries;
    for (simdjson::dom::element e : list) {
        std::string_view name;
        int64_t t = 0;
        double bw = 0, fl = 0;
        if (e["cpu"].get_string().get(name) || e["threads"].get_int64().get(t) ||
            e["bandwidth_gbs"].get_double().get(bw) || e["gflops"].get_double().get(fl))
            continue;
        if (bw <= 0 || fl <= 0) continue;
        MachinePeaks p{std::string(name), static_cast<int>(t), bw, fl, true};
        bool gpu = false;
        int64_t l2 = 0;
        if (!e["gpu"].get_bool().get(gpu) && gpu) {
            p.gpu = true;
            if (!e["l2_bytes"].get_int64().get(l2)) p.llc_bytes = l2;
        }
        entries.push_back(std::move(p));
    }
    return entries;
}

// Replaces the file atomically (a temporary beside it, then rename).
bool write_cache(const std::vector<MachinePeaks>& entries, const std::filesystem::path& cache_file) {
    if (cache_file.empty()) return false;
    std::error_code ec;
    std::filesystem::create_directories(cache_file.parent_path(), ec);
    const std::filesystem::path tmp = cache_file.string() + ".tmp";
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return false;
    out << "{\"machines\": [\n";
    for (size_t i = 0; i < entries.size(); ++i) out << (i ? ",\n  " : "  ") << entry_json(entries[i]);
    out << "\n]}\n";
    out.close();
    if (!out) return false;
    std::filesystem::rename(tmp, cache_file, ec);
    return !ec;
}

}  // namespace

std::optional<MachinePeaks> find_cached_peaks(std::string_view machine, int threads, bool gpu,
                                              const std::filesystem::path& cache_file) {
    for (MachinePeaks& p : read_cache(cache_file))
        if (p.cpu == machine && p.threads == threads && p.gpu == gpu) return std::move(p);
    return std::nullopt;
}

MachinePeaks cached_peaks(int threads, const std::filesystem::path& cache_file) {
    if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    if (std::optional<MachinePeaks> p = find_cached_peaks(cpu_name(), threads, false, cache_file)) {
        p->llc_bytes = last_level_cache_bytes();
        return *p;
    }
    MachinePeaks measured = measure_peaks(threads);
    store_peaks(measured, cache_file);
    return measured;
}

bool store_peaks(const MachinePeaks& peaks, const std::filesystem::path& cache_file) {
    std::vector<MachinePeaks> entries;
    for (MachinePeaks& p : read_cache(cache_file))
        if (p.cpu != peaks.cpu || p.threads != peaks.threads || p.gpu != peaks.gpu) entries.push_back(std::move(p));
    entries.push_back(peaks);
    return write_cache(entries, cache_file);
}

}  // namespace apr::trace
