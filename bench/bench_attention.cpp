// Decode attention over an f16 KV cache at depth, one thread: the per-head
// kernel (attend_block_f16, each of a GQA group's heads reads and converts
// the block's keys and values itself) against the group kernel
// (attend_block_f16_group, one conversion per row for all heads; the same
// bits). Interleaved in rounds; prints ms per decode token for the whole
// model (layers x kv heads) as if on one thread.
//
//   bench_attention [--depth 16384] [--heads 6] [--head-dim 128] [--layers 28] [--kv-heads 2] [--rounds 5]
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "apr/sampling.hpp"
#include "cpu/attention.hpp"
#include "cpu/cpu_features.hpp"
#include "cpu/ops.hpp"

using namespace apr;

int main(int argc, char** argv) {
    int64_t depth = 16384, heads = 6, d = 128, layers = 28, kv_heads = 2, rounds = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string f = argv[i];
        const int64_t v = std::atoll(argv[i + 1]);
        if (f == "--depth") depth = v;
        else if (f == "--heads") heads = v;
        else if (f == "--head-dim") d = v;
        else if (f == "--layers") layers = v;
        else if (f == "--kv-heads") kv_heads = v;
        else if (f == "--rounds") rounds = v;
        else {
            fmt::print(stderr, "bench_attention: unknown flag {}\n", f);
            return 2;
        }
    }
    constexpr int64_t kBlock = 256;
    const cpu::SimdLevel level = cpu::selected_simd_level();
    Rng rng(1);
    std::vector<float> x(static_cast<size_t>(depth * d));
    std::vector<uint16_t> k(x.size()), v(x.size()), q16(static_cast<size_t>(heads * d));
    for (float& f : x) f = static_cast<float>(rng.uniform() * 2 - 1);
    cpu::f32_to_f16_row(x.data(), k.data(), depth * d);
    for (float& f : x) f = static_cast<float>(rng.uniform() * 2 - 1);
    cpu::f32_to_f16_row(x.data(), v.data(), depth * d);
    cpu::f32_to_f16_row(x.data(), q16.data(), heads * d);
    std::vector<float> acc(static_cast<size_t>(heads * d)), qf(acc.size());
    std::vector<uint16_t> acc16(acc.size());
    std::vector<cpu::AttentionPartial> parts(static_cast<size_t>(heads));
    const float scale = 1.0f / std::sqrt(static_cast<float>(d));
    double sink = 0;
    auto per_head = [&] {
        for (int64_t b = 0; b * kBlock < depth; ++b) {
            const int64_t n = std::min(kBlock, depth - b * kBlock);
            for (int64_t h = 0; h < heads; ++h)
                sink += cpu::attend_block_f16(q16.data() + h * d, k.data() + b * kBlock * d, v.data() + b * kBlock * d, d, n, d,
                                              scale, acc16.data(), acc.data() + h * d, level).sum;
        }
    };
    auto group = [&] {
        for (int64_t b = 0; b * kBlock < depth; ++b) {
            const int64_t n = std::min(kBlock, depth - b * kBlock);
            cpu::attend_block_f16_group(q16.data(), heads, k.data() + b * kBlock * d, v.data() + b * kBlock * d, d, n, d, scale,
                                        qf.data(), acc16.data(), acc.data(), parts.data(), level);
            sink += parts[0].sum;
        }
    };
    auto time_ms = [](auto&& fn) {
        const auto t = std::chrono::steady_clock::now();
        fn();
        return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
    };
    fmt::print("depth {}, {} query heads per kv head, head_dim {}, {} levels; per token: {} layers x {} kv heads, one thread\n",
               depth, heads, d, cpu::simd_level_name(level), layers, kv_heads);
    std::vector<double> a, g;
    for (int64_t r = 0; r < rounds; ++r) {
        a.push_back(time_ms(per_head));
        g.push_back(time_ms(group));
    }
    std::sort(a.begin(), a.end());
    std::sort(g.begin(), g.end());
    const double ma = a[a.size() / 2] * static_cast<double>(layers * kv_heads);
    const double mg = g[g.size() / 2] * static_cast<double>(layers * kv_heads);
    fmt::print("per-head kernel: {:.1f} ms/token (median of {}), group kernel: {:.1f} ms/token: {:.2f}x  (checksum {:.3g})\n",
               ma, rounds, mg, ma / mg, sink);
    return 0;
}
