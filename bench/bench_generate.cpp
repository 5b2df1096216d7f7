// End-to-end speed: load a model, process a prompt of N tokens (pp) and
// generate M tokens greedily (tg), and print both rates, like llama-bench.
//
//   bench_generate MODEL [--pp N] [--tg M] [--threads T] [--reps R] [--device cpu|cuda|auto] [--trace-cost 1]
//                  [--tg-depth D]
//
// --tg-depth D: generation starts with D tokens in the cache (the session is
// reset and filled with D tokens, untimed) instead of after the prompt;
// --tg-depth 0 is llama-bench's tg (from an empty cache), which the GPU
// side-by-side (bench/cuda_side_by_side.sh) uses.
//
// --trace-cost 1: each repetition runs twice, without an observer and with a
// trace::Recorder attached (what `apr run --trace` records), in alternating
// order (ABBA, so a machine slowing down or speeding up during the run does
// not favour one side), and prints the traced/untraced time ratio of each
// repetition and their median (docs/tracing.md, "Cost of tracing").
//
// The prompt is N copies of a fixed token run so it needs no tokenizer;
// generation ignores end tokens so it always runs M steps.
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "apr_build_config.h"
#if APR_HAVE_CUDA
#include <cuda_runtime.h>
#endif

#include "apr/error.hpp"
#include "apr/model.hpp"
#include "apr/sampling.hpp"
#include "apr/session.hpp"
#include "apr/trace.hpp"

namespace {

double now_ms() {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        fmt::print(stderr, "usage: bench_generate MODEL [--pp N] [--tg M] [--threads T] [--reps R] [--device cpu|cuda|auto] [--trace-cost 1] [--tg-depth D]\n");
        return 2;
    }
    int64_t pp = 128, tg = 64, reps = 1, tg_depth = -1;  // -1: generation follows the prompt
    int threads = 0;
    bool trace_cost = false;
    apr::Device device = apr::Device::cpu;
    for (int i = 2; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        if (flag == "--device") {
            const std::string d = argv[i + 1];
            if (d == "cpu") device = apr::Device::cpu;
            else if (d == "cuda") device = apr::Device::cuda;
            else if (d == "auto") device = apr::Device::automatic;
            else {
                fmt::print(stderr, "bench_generate: --device must be cpu, cuda or auto\n");
                return 2;
            }
            continue;
        }
        const long long value = std::atoll(argv[i + 1]);
        if (flag == "--pp") pp = value;
        else if (flag == "--tg") tg = value;
        else if (flag == "--threads") threads = static_cast<int>(value);
        else if (flag == "--reps") reps = std::max(1LL, value);
        else if (flag == "--trace-cost") trace_cost = value != 0;
        else if (flag == "--tg-depth") tg_depth = value;
        else {
            fmt::print(stderr, "bench_generate: unknown flag {}\n", flag);
            return 2;
        }
    }
    try {
#if APR_HAVE_CUDA
        size_t free_before = 0, total = 0;
        if (device != apr::Device::cpu && cudaMemGetInfo(&free_before, &total) != cudaSuccess) free_before = 0;
#endif
        const double load_start = now_ms();
        apr::ModelParams mp;
        mp.threads = threads;
        mp.device = device;
        auto model = apr::Model::load(argv[1], mp);
        const double load_ms = now_ms() - load_start;
#if APR_HAVE_CUDA
        size_t free_loaded = 0;
        if (device != apr::Device::cpu && free_before > 0 && cudaMemGetInfo(&free_loaded, &total) != cudaSuccess) free_loaded = 0;
#endif
        const int64_t vocab = model->config().vocab_size;
        apr::SessionParams sp;
        if (tg_depth < -1 || (tg_depth > 0 && pp < 1)) {
            fmt::print(stderr, "bench_generate: --tg-depth must be 0 or more (and above 0 only with --pp 1 or more)\n");
            return 2;
        }
        sp.context_length = std::max(pp, tg_depth) + tg + 1;
        sp.batch_size = std::max<int64_t>(pp, 1);
        apr::Session session(*model, sp);

        std::vector<int32_t> prompt(static_cast<size_t>(pp));
        for (int64_t i = 0; i < pp; ++i) prompt[static_cast<size_t>(i)] = static_cast<int32_t>((i * 7 + 11) % std::min<int64_t>(vocab, 1000));
        apr::Sampler greedy(apr::SamplingParams{});
        if (trace_cost) {
            apr::trace::Recorder rec;
            // One run: the prompt, then tg greedy steps; returns {pp ms, tg ms}.
            auto run = [&](bool traced) {
                session.reset();
                rec.clear();
                session.set_observer(traced ? &rec : nullptr);
                double t0 = now_ms();
                std::span<const float> logits = session.evaluate(prompt);
                const double pp_ms = now_ms() - t0;
                t0 = now_ms();
                for (int64_t i = 0; i < tg; ++i) {
                    const int32_t id = greedy.sample(logits);
                    logits = session.evaluate(std::span<const int32_t>(&id, 1));
                }
                const double tg_ms = now_ms() - t0;
                session.set_observer(nullptr);
                return std::pair<double, double>{pp_ms, tg_ms};
            };
            std::vector<double> pp_ratio, tg_ratio;
            for (int64_t r = 0; r < reps; ++r) {
                std::pair<double, double> plain, traced;
                if (r % 2 == 0) {
                    plain = run(false);
                    traced = run(true);
                } else {
                    traced = run(true);
                    plain = run(false);
                }
                pp_ratio.push_back(traced.first / plain.first);
                tg_ratio.push_back(traced.second / plain.second);
                fmt::print("rep {}: pp{} {:.1f} ms plain, {:.1f} ms traced ({:+.1f}%); tg{} {:.1f} ms plain, {:.1f} ms traced "
                           "({:+.1f}%)\n",
                           r, pp, plain.first, traced.first, 100 * (pp_ratio.back() - 1), tg, plain.second,
                           traced.second, 100 * (tg_ratio.back() - 1));
            }
            auto median = [](std::vector<double> v) {
                std::sort(v.begin(), v.end());
                const size_t n = v.size();
                return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
            };
            fmt::print("model {}, device {}, threads {}\n", argv[1], apr::device_name(model->device()), model->threads());
            fmt::print("trace cost (median traced/plain time - 1 over {} reps): pp{} {:+.1f}%, tg{} {:+.1f}%\n", reps, pp,
                       100 * (median(pp_ratio) - 1), tg, 100 * (median(tg_ratio) - 1));
            return 0;
        }
        double best_pp = 0, best_tg = 0;
        for (int64_t r = 0; r < reps; ++r) {
            session.reset();
            double t0 = now_ms();
            std::span<const float> logits = session.evaluate(prompt);
            const double pp_ms = now_ms() - t0;
            int32_t id = greedy.sample(logits);
            if (tg_depth >= 0) {  // generation from a cache of tg_depth tokens, not after the prompt
                session.reset();
                if (tg_depth > 0) session.evaluate(std::span<const int32_t>(prompt.data(), static_cast<size_t>(std::min(tg_depth, pp))));
                for (int64_t filled = std::min(tg_depth, pp); filled < tg_depth; filled += pp)
                    session.evaluate(std::span<const int32_t>(prompt.data(), static_cast<size_t>(std::min(pp, tg_depth - filled))));
            }
            t0 = now_ms();
            // Greedy decoding as generate() runs it: the backend's argmax, so
            // a GPU sends only the id per step.
            for (int64_t i = 0; i < tg; ++i) id = session.evaluate_greedy(std::span<const int32_t>(&id, 1));
            const double tg_ms = now_ms() - t0;
            best_pp = std::max(best_pp, pp * 1000.0 / pp_ms);
            best_tg = std::max(best_tg, tg * 1000.0 / tg_ms);
            fmt::print("rep {}: pp{} {:.1f} ms ({:.2f} tok/s), tg{} {:.1f} ms ({:.2f} tok/s)\n", r, pp, pp_ms,
                       pp * 1000.0 / pp_ms, tg, tg_ms, tg * 1000.0 / tg_ms);
        }
#if APR_HAVE_CUDA
        if (model->device() == apr::Device::cuda && free_before > 0) {
            // Device memory the model and this session took, against what
            // they must hold after the runs above (scratch included): the weights as stored plus the f16 KV cache.
            size_t free_after = 0;
            cudaMemGetInfo(&free_after, &total);
            double weights = 0;
            for (const auto& t : model->file().tensors()) weights += static_cast<double>(t.nbytes);
            const auto& c = model->config();
            const double kv = 2.0 * 2.0 * c.num_layers * static_cast<double>(sp.context_length) * c.num_kv_heads * c.head_dim;
            const double used = static_cast<double>(free_before - free_after);
            fmt::print("gpu memory: {:.1f} MiB used; weights {:.1f} MiB + KV cache {:.1f} MiB = {:.1f} MiB; overhead {:.1f}%\n",
                       used / 1048576, weights / 1048576, kv / 1048576, (weights + kv) / 1048576,
                       100.0 * (used - weights - kv) / (weights + kv));
            if (free_loaded > 0)
                fmt::print("gpu memory after load: {:.1f} MiB (weights {:.1f} MiB); the session and its runs: {:.1f} MiB\n",
                           static_cast<double>(free_before - free_loaded) / 1048576, weights / 1048576,
                           static_cast<double>(free_loaded - free_after) / 1048576);
        }
#endif
        fmt::print("model {} (load {:.0f} ms), device {}, threads {}\n", argv[1], load_ms,
                   apr::device_name(model->device()), model->threads());
        fmt::print("pp{}: {:.2f} tok/s   tg{}: {:.2f} tok/s (best of {})\n", pp, best_pp, tg, best_tg, reps);
    } catch (const apr::Error& e) {
        fmt::print(stderr, "bench_generate: {}\n", e.what());
        return 1;
    }
    return 0;
}
