#include "model/cpu_backend.hpp"

#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <array>
#include <cmath>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "core/fail.hpp"
#include "core/half.hpp"
#include "cpu/ops.hpp"
#include "model/cpu_attention.hpp"
#include "model/cpu_kv_cache.hpp"
#include "model/cpu_kernel_names.hpp"
#include "model/cpu_matmul.hpp"
#include "model/weights.hpp"
#include "quant/dequantize.hpp"

namespace apr::model {
namespace {

class HostBuffer final : public Buffer {
public:
    explicit HostBuffer(int64_t floats) : data_(std::make_unique<float[]>(static_cast<size_t>(floats))) {}
    float* data() override { return data_.get(); }

private:
    std::unique_ptr<float[]> data_;
};

class CpuBackend final : public Backend {
public:
    explicit CpuBackend(int threads)
        : threads_(threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))),
          arena_(threads_),
          matmul_() {}

    std::string_view name() const override { return "cpu"; }
    int threads() const override { return threads_; }

    // The embedding table is repacked only when it is also the LM head:
    // then every step reads all of it anyway (so all of it is resident
    // either way, and the repacked copy replaces the file's pages), and the
    // LM head - up to a fifth of a small model's weights - gets the
    // multi-token tiles. Otherwise it is read a few rows per step, so from
    // the mapping only those pages become resident, while a repacked copy
    // would hold all of it in memory.
    Weight bind_embedding(const TensorView& t, bool lm_head) override {
        Weight w;
        arena_.execute([&] { w = matmul_.bind(t, /*repack=*/lm_head); });
        return w;
    }

    Weight bind(const TensorView& t, bool as_f32) override {
        if (!as_f32) {
            // Matrices are repacked for the kernels where they can be (cpu_matmul.hpp).
            Weight w;
            arena_.execute([&] { w = matmul_.bind(t, /*repack=*/true); });
            return w;
        }
        Weight w{t.name, t.dtype, t.data, t.rows(), t.cols()};
        if (t.shape.size() == 1) w.rows = 1;
        if (t.dtype != DType::F32) {
            auto& copy = f32_copies_.emplace_back(static_cast<size_t>(t.elements()));
            quant::dequantize_row(t.dtype, t.data, copy.data(), t.elements());
            w.type = DType::F32;
            w.data = copy.data();
        }
        return w;
    }

    bool supports_matmul(DType type) const override { return matmul_.supports(type); }

    std::unique_ptr<Buffer> alloc(int64_t floats) override { return std::make_unique<HostBuffer>(floats); }

    std::unique_ptr<KVCache> make_kv_cache(const KVLayout& layout, int64_t capacity) override {
        if (layout.type == KVCacheType::q8_0 && layout.head_dim % 32 != 0)
            fail(ErrorCode::unsupported, "a q8_0 KV cache needs a head dimension that is a multiple of 32, not {}",
                 layout.head_dim);
        return std::make_unique<HostKVCache>(layout, capacity, pool_for(layout.block_bytes()));
    }

    void get_rows(const Weight& table, const int32_t* ids, int64_t rows, float* y) override {
        for (int64_t r = 0; r < rows; ++r) matmul_.dequantize_row(table, ids[r], y + r * table.cols);
    }

    void rmsnorm(const float* x, const Weight& w, float eps, int64_t rows, int64_t cols, float* y) override {
        const auto* weight = static_cast<const float*>(w.data);
        run_rows(rows, rows * cols, [&](int64_t r) { cpu::rmsnorm_row(x + r * cols, weight, cols, eps, y + r * cols); });
    }

    void matmul(const Weight& w, const float* x, int64_t rows, float* y) override {
        arena_.execute([&] { matmul_.run(w, x, rows, y); });
    }

    // The products sharing an input quantize it once (the default composes
    // single matmuls, each quantizing it again); the same values.
    void matmul_group(std::span<const LinearJob> jobs, const float* x, int64_t rows) override {
        std::array<const Weight*, 4> ws{};
        std::array<float*, 4> ys{};
        if (jobs.size() > ws.size()) return Backend::matmul_group(jobs, x, rows);
        for (size_t i = 0; i < jobs.size(); ++i) {
            ws[i] = jobs[i].w;
            ys[i] = jobs[i].y;
        }
        arena_.execute([&] {
            matmul_.run_shared(std::span(ws.data(), jobs.size()), x, rows, std::span(ys.data(), jobs.size()));
        });
        for (const LinearJob& j : jobs)
            if (j.bias != nullptr && *j.bias) add_bias(j.y, *j.bias, rows, j.w->rows);
    }
    void matmul_swiglu(const Weight& gate, const Weight& up, const float* x, int64_t rows, float* out,
                       float* up_tmp) override {
        const std::array<const Weight*, 2> ws{&gate, &up};
        const std::array<float*, 2> ys{out, up_tmp};
        arena_.execute([&] { matmul_.run_shared(ws, x, rows, ys); });
        swiglu(out, up_tmp, rows * gate.rows, out);
    }

    void add_bias(float* y, const Weight& bias, int64_t rows, int64_t cols) override {
        const auto* b = static_cast<const float*>(bias.data);
        for (int64_t r = 0; r < rows; ++r) cpu::add_row(y + r * cols, b, cols);
    }

    void rope(float* x, const int32_t* positions, int64_t rows, int64_t heads, int64_t head_dim,
              float theta, RopeStyle style) override {
        // inv_freq as Hugging Face computes it in f32: 1 / theta^(2i/d).
        // head_dim <= kMaxHeadDim is checked at load.
        std::array<float, kMaxHeadDim / 2> inv;
        for (int64_t i = 0; i < head_dim / 2; ++i)
            inv[static_cast<size_t>(i)] =
                1.0f / std::pow(theta, static_cast<float>(2 * i) / static_cast<float>(head_dim));
        // sin and cos per pair: about 4 elements' worth of work per element.
        run_rows(rows, 4 * rows * heads * head_dim, [&](int64_t r) {
            (style == RopeStyle::neox ? cpu::rope_neox_heads : cpu::rope_normal_heads)(
                x + r * heads * head_dim, heads, head_dim, static_cast<float>(positions[r]), inv.data());
        });
    }

    void attention(int layer, const float* q, const float* k, const float* v, const int32_t* positions,
                   std::span<const SeqSlice> seqs, const AttentionShape& shape, float* out) override {
        cpu_attention(arena_, threads_, matmul_.level(), layer, q, k, v, positions, seqs, shape, out);
    }

    void swiglu(const float* gate, const float* up, int64_t n, float* y) override {
        constexpr int64_t kChunk = 4096;
        run_rows((n + kChunk - 1) / kChunk, n, [&](int64_t c) {
            const int64_t begin = c * kChunk;
            cpu::swiglu_row(gate + begin, up + begin, std::min(kChunk, n - begin), y + begin, matmul_.level());
        });
    }

    void add(float* y, const float* x, int64_t n) override { cpu::add_row(y, x, n); }

    void gather_rows(const float* src, const int32_t* rows, int64_t count, int64_t cols, float* dst) override {
        for (int64_t i = 0; i < count; ++i) std::copy_n(src + rows[i] * cols, cols, dst + i * cols);
    }

    void to_host(const float* src, int64_t n, float* dst) override { std::copy_n(src, n, dst); }
    bool host_memory() const override { return true; }
    std::string description() const override {
        return std::string("cpu, ") + std::string(cpu::simd_level_name(matmul_.level())) + " kernels, " +
               std::to_string(threads_) + " threads";
    }
    std::string_view kernel_name(OpKind op, DType type) const override {
        return cpu_kernel_name(matmul_.level(), op, type);
    }

private:
    // fn(0) .. fn(rows - 1), over the threads when the op is big enough:
    // `elements` (its size in elements touched) below kInlineElements runs
    // on the calling thread, since a parallel region's fork and join (a few
    // microseconds, more when a worker must be woken) would cost more than
    // the op. A small model's decode step has dozens of such ops (nano: an
    // rmsnorm of 8 x 512 takes about a microsecond). Each row is computed
    // the same either way, so the split changes no value.
    static constexpr int64_t kInlineElements = 32768;
    template <typename Fn>
    void run_rows(int64_t rows, int64_t elements, const Fn& fn) {
        if (rows <= 1 || elements < kInlineElements) {
            for (int64_t r = 0; r < rows; ++r) fn(r);
            return;
        }
        arena_.execute([&] {
            tbb::parallel_for(tbb::blocked_range<int64_t>(0, rows), [&](const tbb::blocked_range<int64_t>& range) {
                for (int64_t r = range.begin(); r < range.end(); ++r) fn(r);
            });
        });
    }

    // One pool per block size (a model's sessions of one KV type share it).
    std::shared_ptr<HostBlockPool> pool_for(size_t block_bytes) {
        std::lock_guard<std::mutex> lock(pools_mutex_);
        for (const auto& p : pools_)
            if (p->block_bytes() == block_bytes) return p;
        return pools_.emplace_back(std::make_shared<HostBlockPool>(block_bytes));
    }

    int threads_;
    tbb::task_arena arena_;
    CpuMatmul matmul_;
    std::deque<std::vector<float>> f32_copies_;  // deque: stable addresses
    std::mutex pools_mutex_;
    std::vector<std::shared_ptr<HostBlockPool>> pools_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(int threads) { return std::make_unique<CpuBackend>(threads); }

}  // namespace apr::model
