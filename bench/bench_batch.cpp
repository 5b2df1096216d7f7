// Batched decode: how much one forward pass of B sessions (one token each,
// apr::BatchEvaluator, as `apr serve` runs its decode rows) gains over B
// single-session steps. Batch sizes are interleaved in rounds, so a busy
// machine slows them alike; the figure is decode tok/s per batch size and its
// ratio to batch 1 in the same run.
//
//   bench_batch MODEL [--batches 1,2,4,8] [--steps S] [--context C] [--rounds R] [--threads T]
//               [--device cpu|cuda|auto] [--logits device|host]
//
// Each step's greedy ids come from BatchEvaluator::evaluate_greedy (--logits
// device, the default: on a GPU the argmax runs there and only the ids
// cross) or from the argmax on the host of every row's logits (--logits
// host: evaluate() copies vocab_size floats per row to the host, as a
// sampler with temperature reads them); on a GPU that copy is part of what
// is timed.
//
// Each session first holds a C-token prompt (distinct per session), so the
// attention reads a realistic cache; each round then times S steps per batch
// size and restores the sessions to the prompt. Greedy tokens are fed back,
// end tokens ignored, like bench_generate.
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "apr/batch.hpp"
#include "apr/error.hpp"
#include "apr/model.hpp"
#include "apr/sampling.hpp"
#include "apr/session.hpp"

namespace {

double now_ms() {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

int32_t argmax(std::span<const float> row) {
    return static_cast<int32_t>(std::max_element(row.begin(), row.end()) - row.begin());
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        fmt::print(stderr, "usage: bench_batch MODEL [--batches 1,2,4,8] [--steps S] [--context C] [--rounds R] [--threads T] [--device cpu|cuda|auto] [--logits device|host]\n");
        return 2;
    }
    std::vector<int64_t> batches = {1, 2, 4, 8};
    int64_t steps = 16, context = 64, rounds = 3;
    int threads = 0;
    apr::Device device = apr::Device::cpu;
    bool host_logits = false;
    for (int i = 2; i + 1 < argc; i += 2) {
        const std::string flag = argv[i], value = argv[i + 1];
        if (flag == "--batches") {
            batches.clear();
            std::istringstream in(value);
            std::string part;
            while (std::getline(in, part, ',')) batches.push_back(std::max(1LL, std::atoll(part.c_str())));
        } else if (flag == "--steps") steps = std::max(1LL, std::atoll(value.c_str()));
        else if (flag == "--context") context = std::max(1LL, std::atoll(value.c_str()));
        else if (flag == "--rounds") rounds = std::max(1LL, std::atoll(value.c_str()));
        else if (flag == "--threads") threads = std::atoi(value.c_str());
        else if (flag == "--logits" && (value == "device" || value == "host")) host_logits = value == "host";
        else if (flag == "--device" && (value == "cpu" || value == "cuda" || value == "auto"))
            device = value == "cpu" ? apr::Device::cpu : value == "cuda" ? apr::Device::cuda : apr::Device::automatic;
        else {
            fmt::print(stderr, "bench_batch: unknown flag {}\n", flag);
            return 2;
        }
    }
    if (batches.empty()) {
        fmt::print(stderr, "bench_batch: --batches lists no batch size\n");
        return 2;
    }
    try {
        apr::ModelParams mp;
        mp.threads = threads;
        mp.device = device;
        auto model = apr::Model::load(argv[1], mp);
        const int64_t vocab = model->config().vocab_size;
        const int64_t most = *std::max_element(batches.begin(), batches.end());
        apr::SessionParams sp;
        sp.context_length = context + steps + 1;
        sp.batch_size = context;
        std::vector<std::unique_ptr<apr::Session>> sessions;
        std::vector<int32_t> first(static_cast<size_t>(most));
        for (int64_t s = 0; s < most; ++s) {
            sessions.push_back(std::make_unique<apr::Session>(*model, sp));
            std::vector<int32_t> prompt(static_cast<size_t>(context));
            for (int64_t i = 0; i < context; ++i)
                prompt[static_cast<size_t>(i)] = static_cast<int32_t>((i * 7 + 11 + 13 * s) % std::min<int64_t>(vocab, 1000));
            first[static_cast<size_t>(s)] = argmax(sessions.back()->evaluate(prompt));
        }
        apr::BatchEvaluator evaluator(*model, most);
        std::vector<std::vector<double>> rates(batches.size());
        for (int64_t r = 0; r < rounds; ++r)
            for (size_t bi = 0; bi < batches.size(); ++bi) {
                const int64_t b = batches[bi];
                std::vector<int32_t> next(first.begin(), first.begin() + b);
                std::vector<apr::BatchItem> items(static_cast<size_t>(b));
                const double t0 = now_ms();
                for (int64_t step = 0; step < steps; ++step) {
                    for (int64_t s = 0; s < b; ++s)
                        items[static_cast<size_t>(s)] = {sessions[static_cast<size_t>(s)].get(),
                                                         std::span<const int32_t>(&next[static_cast<size_t>(s)], 1), true};
                    if (host_logits) {
                        const std::span<const float> logits = evaluator.evaluate(items);
                        for (int64_t s = 0; s < b; ++s)
                            next[static_cast<size_t>(s)] =
                                argmax(logits.subspan(static_cast<size_t>(s * vocab), static_cast<size_t>(vocab)));
                    } else {
                        const std::span<const int32_t> ids = evaluator.evaluate_greedy(items);
                        std::copy(ids.begin(), ids.end(), next.begin());
                    }
                }
                const double ms = now_ms() - t0;
                rates[bi].push_back(static_cast<double>(b * steps) * 1000.0 / ms);
                for (int64_t s = 0; s < b; ++s) sessions[static_cast<size_t>(s)]->truncate(context);
            }
        fmt::print("model {}, device {}, threads {}, context {}, {} steps per batch size, {} interleaved rounds, greedy ids from {}\n",
                   argv[1], apr::device_name(model->device()), model->threads(), context, steps, rounds,
                   host_logits ? "the logits on the host" : "evaluate_greedy");
        fmt::print("{:>6} {:>14} {:>10} {:>10}  {}\n", "batch", "median tok/s", "step ms", "vs batch 1", "rounds (tok/s)");
        double base = 0;
        for (size_t bi = 0; bi < batches.size(); ++bi) {
            std::vector<double> v = rates[bi];
            std::sort(v.begin(), v.end());
            const double med = v[v.size() / 2];
            if (bi == 0) base = med;
            std::string all;
            for (double x : rates[bi]) all += fmt::format("{:.1f} ", x);
            fmt::print("{:>6} {:>14.1f} {:>10.2f} {:>9.2f}x  {}\n", batches[bi], med, 1000.0 * batches[bi] / med,
                       med / base, all);
        }
    } catch (const apr::Error& e) {
        fmt::print(stderr, "bench_batch: {}\n", e.what());
        return 1;
    }
    return 0;
}
