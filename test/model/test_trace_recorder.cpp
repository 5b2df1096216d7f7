// trace::Recorder and its reports from the library side: a real generation
// records one pass per evaluated step with every op of every layer; the
// payload report flags NaN/Inf, all-zero tensors and ids outside the
// vocabulary as errors (fed with such events directly).
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "apr/generate.hpp"
#include "apr/model.hpp"
#include "apr/session.hpp"
#include "apr/trace.hpp"
#include "support/fixtures.hpp"

TEST_CASE("a Recorder sees every pass, op and sampling step of a generation") {
    auto model = apr::Model::load(apr::test::vendored_models_dir() / "nano" / "nano-q4_k_m.gguf");
    apr::trace::Recorder rec({true, 5});
    apr::SessionParams sp;
    sp.observer = &rec;
    apr::Session session(*model, sp);
    apr::GenerateParams gp;
    gp.max_tokens = 3;
    const apr::GenerateResult r = apr::generate(session, "def f(x):", gp);
    REQUIRE(r.completion_tokens == 3);
    CHECK(rec.layers() == 4);
    REQUIRE(rec.passes().size() == 3);  // the prompt, then every generated token but the last
    CHECK(rec.phase_tokens(apr::GenerationPhase::prompt) == r.prompt_tokens);
    CHECK(rec.phase_tokens(apr::GenerationPhase::decode) == 2);
    CHECK(rec.samples().size() == 3);
    CHECK(rec.tokenizations().size() == 1);
    for (const auto& p : rec.passes()) {
        // embed + per layer (2 norms, 7 matmuls, 3 biases, 2 rope, attention, swiglu, 2 adds) + final norm + LM head
        CHECK(p.op_count == 1 + 4 * 18 + 2);
        CHECK(p.layer_stats.size() == 6);
        double ops = 0;
        for (size_t i = p.first_op; i < p.first_op + p.op_count; ++i) ops += rec.ops()[i].ms;
        CHECK(ops <= p.ms * 1.001 + 0.01);
    }
    for (const auto& s : rec.samples()) CHECK(s.top.size() == 5);
    CHECK(rec.samples()[0].token == r.tokens[0]);
    CHECK(rec.samples()[0].top[0].id == r.tokens[0]);  // greedy: the best logit
    const auto decode = rec.layer_times(apr::GenerationPhase::decode);
    REQUIRE(decode.size() == 4);
    for (const auto& l : decode) CHECK(l.total_ms() > 0);
    const std::string payload = apr::trace::format_payload(rec, 2048);
    CHECK(payload.find("0 errors") != std::string::npos);
    rec.clear();
    CHECK(rec.passes().empty());
    CHECK(rec.ops().empty());
}

TEST_CASE("tensor_stats counts NaN, Inf and zeros and leaves them out of the moments") {
    const std::vector<float> v{1.0f, -1.0f, 0.0f, NAN, INFINITY, 3.0f};
    const auto s = apr::trace::tensor_stats(v.data(), static_cast<int64_t>(v.size()));
    CHECK(s.count == 6);
    CHECK(s.nan == 1);
    CHECK(s.inf == 1);
    CHECK(s.zeros == 1);
    CHECK(s.min == -1.0);
    CHECK(s.max == 3.0);
    CHECK(s.mean == Approx(0.75));
    CHECK_FALSE(s.finite());
    const std::vector<float> zeros(8, 0.0f);
    CHECK(apr::trace::tensor_stats(zeros.data(), 8).all_zero());
}

TEST_CASE("the payload report flags NaN, all-zero tensors and out-of-vocabulary ids") {
    apr::trace::Recorder rec({true, 2});
    const int32_t pos[1] = {7};
    std::vector<float> embedding(4, 0.5f), nan_layer{1.0f, NAN, 2.0f, 3.0f}, zero_layer(4, 0.0f), norm(4, 1.0f);
    rec.on_phase(apr::GenerationPhase::decode);
    rec.on_batch_begin(apr::BatchEvent{1, pos, 1, 2, 0});
    rec.on_layer({apr::LayerStage::embedding, -1, embedding.data(), 1, 4, pos});
    rec.on_layer({apr::LayerStage::block_output, 0, nan_layer.data(), 1, 4, pos});
    rec.on_layer({apr::LayerStage::block_output, 1, zero_layer.data(), 1, 4, pos});
    rec.on_layer({apr::LayerStage::final_norm, 2, norm.data(), 1, 4, pos});
    rec.on_batch_end(apr::BatchEvent{1, pos, 1, 2, 1.0});
    std::vector<float> logits{0.1f, 0.2f, 0.3f, 9.0f};  // id 3 is beyond a 3-token vocabulary
    rec.on_sample(apr::SampleEvent{0, 3, logits.data(), 4, 0.01});
    int64_t errors = -1;
    const std::string text = apr::trace::format_payload(rec, 3, &errors);
    INFO(text);
    CHECK(errors == 4);  // NaN, all zeros, sampled id, top id
    CHECK(text.find("layer 0        min=1") != std::string::npos);
    CHECK(text.find("ERROR: 1 NaN") != std::string::npos);
    CHECK(text.find("ERROR: all zeros") != std::string::npos);
    CHECK(text.find("ERROR: id 3 is outside the vocabulary (0..2)") != std::string::npos);
}

namespace {

// A short greedy generation on nano, recorded.
void record_generation(apr::trace::Recorder& rec) {
    static auto model = apr::Model::load(apr::test::vendored_models_dir() / "nano" / "nano-q4_k_m.gguf");
    apr::SessionParams sp;
    sp.observer = &rec;
    apr::Session session(*model, sp);
    apr::GenerateParams gp;
    gp.max_tokens = 4;
    apr::generate(session, "def f(x):", gp);
}

}  // namespace

TEST_CASE("a bandwidth peak below what a pass streamed from memory is raised; a cache-resident pass is explained") {
    apr::trace::Recorder rec({false, 0});
    record_generation(rec);
    apr::trace::MachinePeaks peaks{"test CPU", 2, 1e-6, 1e6, true, 0};  // every op memory-bound

    SECTION("passes larger than the last-level cache: the peak was too low") {
        peaks.llc_bytes = 1;
        const apr::trace::Profile profile = apr::trace::profile_of(rec, peaks);
        REQUIRE(profile.phases.size() == 2);
        for (const auto& ph : profile.phases) {
            INFO("phase MB per pass " << ph.mb_per_pass << ", GB/s " << ph.gbs);
            CHECK(!ph.fits_in_cache);
            CHECK(ph.mb_per_pass > 1.0);  // nano's weights: several MB per pass
        }
        CHECK(profile.memory_gbs_above_peak > peaks.bandwidth_gbs);
        const apr::trace::MachinePeaks raised = apr::trace::raised_peaks(profile, peaks);
        CHECK(raised.bandwidth_gbs == profile.memory_gbs_above_peak);
        CHECK(raised.gflops == peaks.gflops);
        const std::string text = apr::trace::format_profile(rec, peaks);
        INFO(text);
        CHECK(text.find("[PROFILE] note: this run streamed") != std::string::npos);
        CHECK(text.find("fits in the") == std::string::npos);
        // Against the raised peak the same run is no longer above it.
        CHECK(apr::trace::profile_of(rec, raised).memory_gbs_above_peak == 0);
    }
    SECTION("passes that fit in the last-level cache: above the peak is expected, nothing is raised") {
        peaks.llc_bytes = int64_t{1} << 40;
        const apr::trace::Profile profile = apr::trace::profile_of(rec, peaks);
        for (const auto& ph : profile.phases) CHECK(ph.fits_in_cache);
        CHECK(profile.memory_gbs_above_peak == 0);
        CHECK(apr::trace::raised_peaks(profile, peaks).bandwidth_gbs == peaks.bandwidth_gbs);
        const std::string text = apr::trace::format_profile(rec, peaks);
        INFO(text);
        CHECK(text.find("fits in the 1048576 MB last-level cache") != std::string::npos);
        CHECK(text.find("this run streamed") == std::string::npos);
    }
    SECTION("an unknown cache size claims neither") {
        const apr::trace::Profile profile = apr::trace::profile_of(rec, peaks);
        CHECK(profile.memory_gbs_above_peak == 0);
        for (const auto& ph : profile.phases) CHECK(!ph.fits_in_cache);
    }
}

TEST_CASE("store_peaks replaces this machine's cached entry and keeps the others") {
    const auto dir = std::filesystem::temp_directory_path() / ("apr_test_peaks_" + std::to_string(getpid()));
    std::filesystem::remove_all(dir);
    const auto file = dir / "machine_peaks.json";
    const apr::trace::MachinePeaks measured = apr::trace::cached_peaks(1, file);  // measures, writes
    CHECK(!measured.from_cache);
    REQUIRE(std::filesystem::exists(file));
    REQUIRE(apr::trace::store_peaks(apr::trace::MachinePeaks{"another CPU", 1, 7.5, 8.5, false, 0}, file));
    apr::trace::MachinePeaks raised = measured;
    raised.bandwidth_gbs = 12345.5;
    REQUIRE(apr::trace::store_peaks(raised, file));
    const apr::trace::MachinePeaks again = apr::trace::cached_peaks(1, file);
    CHECK(again.from_cache);
    CHECK(again.bandwidth_gbs == Approx(12345.5));
    CHECK(again.gflops == Approx(measured.gflops).epsilon(1e-3));
    const std::string text = [&] {
        std::ifstream in(file);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }();
    INFO(text);
    CHECK(text.find("another CPU") != std::string::npos);
    size_t entries = 0;
    for (size_t at = text.find("\"cpu\""); at != std::string::npos; at = text.find("\"cpu\"", at + 1)) ++entries;
    CHECK(entries == 2);
    std::filesystem::remove_all(dir);
}

TEST_CASE("a GPU's peaks give the GPU's header and advice, are never raised, and are cached apart from the CPU's") {
    apr::trace::Recorder rec({false, 0});
    record_generation(rec);
    apr::trace::MachinePeaks gpu{"Test GPU", 0, 4000.0, 600000.0, false, int64_t{1} << 40, true};
    const apr::trace::Profile profile = apr::trace::profile_of(rec, gpu);
    REQUIRE(profile.phases.size() == 2);
    CHECK(profile.memory_gbs_above_peak == 0);  // the card's own measurement is never raised
    const std::string text = apr::trace::format_profile(profile);
    INFO(text);
    CHECK(text.find("[PROFILE] machine: Test GPU (GPU): 4000.0 GB/s read bandwidth, 600000.0 GFLOP/s f16 "
                    "tensor-core multiply-add (measured on the card now)") != std::string::npos);
    CHECK(text.find("threads") == std::string::npos);
    CHECK(text.find("f32 FMA") == std::string::npos);
    // nano on a 4 TB/s card from a CPU recording: far below the card's bandwidth, so the launch advice.
    CHECK(text.find("of the card's measured bandwidth: each step is many short kernels") != std::string::npos);
    CHECK(text.find("--threads") == std::string::npos);
    CHECK(text.find("fits in the") == std::string::npos);  // nothing above the peak to explain
    CHECK(text == apr::trace::format_profile(rec, gpu));
    // A pass that fits in the card's L2 and runs above its bandwidth is explained by the L2, and not raised.
    apr::trace::MachinePeaks slow = gpu;
    slow.bandwidth_gbs = 1e-6;
    const apr::trace::Profile above = apr::trace::profile_of(rec, slow);
    CHECK(above.memory_gbs_above_peak == 0);
    const std::string above_text = apr::trace::format_profile(above);
    INFO(above_text);
    CHECK(above_text.find("MB L2 cache of the card, so memory-bound ops run above") != std::string::npos);
    CHECK(above_text.find("this run streamed") == std::string::npos);

    const auto dir = std::filesystem::temp_directory_path() / ("apr_test_gpu_peaks_" + std::to_string(getpid()));
    std::filesystem::remove_all(dir);
    const auto file = dir / "machine_peaks.json";
    gpu.llc_bytes = 50 << 20;
    REQUIRE(apr::trace::store_peaks(gpu, file));
    // A CPU entry of the same name and thread count is another machine.
    REQUIRE(apr::trace::store_peaks(apr::trace::MachinePeaks{"Test GPU", 0, 9.0, 10.0, false, 0, false}, file));
    const auto found = apr::trace::find_cached_peaks("Test GPU", 0, true, file);
    REQUIRE(found.has_value());
    CHECK(found->gpu);
    CHECK(found->from_cache);
    CHECK(found->bandwidth_gbs == Approx(4000.0));
    CHECK(found->llc_bytes == (50 << 20));
    const auto cpu = apr::trace::find_cached_peaks("Test GPU", 0, false, file);
    REQUIRE(cpu.has_value());
    CHECK(cpu->bandwidth_gbs == Approx(9.0));
    CHECK(!apr::trace::find_cached_peaks("Other GPU", 0, true, file).has_value());
    std::filesystem::remove_all(dir);
}
