// --profile on the GPU: the peaks come from the card (read bandwidth and
// f16 tensor-core rate measured there, cached by the card's name), and a
// recorded generation on the CUDA backend is set against them.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>

#include "apr/device.hpp"
#include "apr/generate.hpp"
#include "apr/model.hpp"
#include "apr/session.hpp"
#include "apr/trace.hpp"
#include "cuda/device_info.h"
#include "support/fixtures.hpp"

using namespace apr;

namespace {

std::unique_ptr<Model> nano_on(Device device) {
    ModelParams p;
    p.device = device;
    return Model::load(test::vendored_models_dir() / "nano" / "nano-q4_k_m.gguf", p);
}

std::filesystem::path fresh_cache(const char* tag) {
    const auto dir = std::filesystem::temp_directory_path() / (std::string(tag) + std::to_string(getpid()));
    std::filesystem::remove_all(dir);
    return dir / "machine_peaks.json";
}

}  // namespace

TEST_CASE("CUDA: the card's peaks are measured on it, cached by its name, and are an H100/H200-class card's") {
    const auto cache = fresh_cache("apr_cuda_peaks_");
    const auto model = nano_on(Device::cuda);
    const trace::MachinePeaks first = device_peaks(*model, cache);
    INFO(first.cpu << ": " << first.bandwidth_gbs << " GB/s, " << first.gflops << " GFLOP/s, L2 " << first.llc_bytes);
    CHECK(first.gpu);
    CHECK(!first.from_cache);
    CHECK(!first.cpu.empty());
    CHECK(first.threads == 0);
    // Plausible for any card libapr targets: far above a CPU's memory, below
    // any HBM made; tensor cores far above a CPU's f32 FMA rate.
    CHECK(first.bandwidth_gbs > 500);
    CHECK(first.bandwidth_gbs < 10000);
    CHECK(first.gflops > 20000);
    CHECK(first.gflops < 5e6);
    CHECK(first.llc_bytes > (1 << 20));
    // No card multiplies faster than its tensor cores can: on Hopper (compute
    // 9.x) the dense f16 rate is 4,096 FLOP per multiprocessor per clock
    // (H100 SXM: 132 x 1.83 GHz x 4,096 = 989 TFLOP/s), and the measurement
    // must stay under it. (A first version folded its four equal chains into
    // one and reported 1.22 PFLOP/s on an H200.) Elsewhere: under 16,384.
    AprCudaPeaks card{};
    REQUIRE(apr_cuda_describe_device(&card, nullptr, 0) == 0);
    INFO(card.multiprocessors << " multiprocessors at " << card.max_clock_khz << " kHz, compute " << card.compute_major
                              << "." << card.compute_minor);
    REQUIRE(card.multiprocessors > 0);
    REQUIRE(card.max_clock_khz > 0);
    const double per_clock = card.compute_major == 9 ? 4096.0 : 16384.0;
    const double limit_gflops = card.multiprocessors * (card.max_clock_khz * 1e3) * per_clock / 1e9;
    CHECK(first.gflops <= limit_gflops);
    CHECK(first.gflops >= 0.3 * limit_gflops);  // warp-level products reach a good share of it
    const trace::MachinePeaks again = device_peaks(*model, cache);
    CHECK(again.from_cache);
    CHECK(again.gpu);
    CHECK(again.bandwidth_gbs == Approx(first.bandwidth_gbs).epsilon(1e-3));
    CHECK(again.gflops == Approx(first.gflops).epsilon(1e-3));
    CHECK(again.llc_bytes == first.llc_bytes);
    // The same process on the CPU gets the CPU's peaks, not the card's.
    const auto cpu_model = nano_on(Device::cpu);
    const trace::MachinePeaks cpu = device_peaks(*cpu_model, cache);
    CHECK(!cpu.gpu);
    CHECK(cpu.cpu != first.cpu);
    std::filesystem::remove_all(cache.parent_path());
}

TEST_CASE("CUDA: a recorded generation on the GPU is profiled against the card's peaks with device timings") {
    const auto cache = fresh_cache("apr_cuda_profile_");
    const auto model = nano_on(Device::cuda);
    trace::Recorder rec({false, 0});
    SessionParams sp;
    sp.observer = &rec;
    Session session(*model, sp);
    GenerateParams gp;
    gp.max_tokens = 8;
    generate(session, "def fib(n):", gp);
    const trace::MachinePeaks peaks = device_peaks(*model, cache);
    const trace::Profile profile = trace::profile_of(rec, peaks);
    const std::string text = trace::format_profile(profile);
    INFO(text);
    REQUIRE(profile.phases.size() == 2);
    CHECK(text.find("(GPU): ") != std::string::npos);
    CHECK(text.find("measured on the card now") != std::string::npos);
    CHECK(text.find("f32 FMA") == std::string::npos);
    for (const trace::ProfilePhase& ph : profile.phases) {
        CHECK(ph.ms_per_token > 0);
        CHECK(!ph.classes.empty());
        CHECK(!ph.recommendation.empty());
        double share = 0;
        for (const trace::ProfileClass& c : ph.classes) share += c.share;
        CHECK(share == Approx(1.0).epsilon(1e-6));
    }
    // Device-event timings: every matrix product of the pass took some time.
    int64_t timed = 0, products = 0;
    for (const trace::OpRecord& op : rec.ops())
        if (op.op == OpKind::matmul) {
            ++products;
            if (op.ms > 0) ++timed;
        }
    CHECK(products > 0);
    CHECK(timed == products);
    // The times are the device's, from events asked for at the pass's end:
    // within a pass the ops follow one another on the card (each starts
    // after the one before has begun, inside the pass), and their times add
    // up to no more than the pass's own time on the card.
    for (const trace::PassRecord& p : rec.passes()) {
        REQUIRE(p.op_count > 0);
        double sum = 0, last_start = p.start_ms;
        for (size_t i = p.first_op; i < p.first_op + p.op_count; ++i) {
            const trace::OpRecord& op = rec.ops()[i];
            CHECK(op.ms >= 0);
            CHECK(op.start_ms >= last_start - 1e-6);
            CHECK(op.start_ms + op.ms <= p.start_ms + p.ms + 1e-3);
            last_start = op.start_ms;
            sum += op.ms;
        }
        CHECK(sum <= p.ms * 1.001 + 1e-3);
    }
    std::filesystem::remove_all(cache.parent_path());
}
