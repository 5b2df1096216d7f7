#include "model/cpu_backend.hpp"

#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <array>
#include <cmath>
#include <deque>
#include <thread>
#include <vector>

#include "core/fail.hpp"
#include "core/half.hpp"
#include "cpu/ops.hpp"
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

// Per layer: capacity x kv_dim keys, then the same for values.
class HostKVCache final : public KVCache {
public:
    HostKVCache(int64_t layers, int64_t capacity, int64_t kv_dim, KVCacheType type)
        : capacity_(capacity), kv_dim_(kv_dim), type_(type) {
        const size_t per_layer = static_cast<size_t>(capacity * kv_dim);
        if (type == KVCacheType::f16) {
            k16_.resize(static_cast<size_t>(layers) * per_layer);
            v16_.resize(static_cast<size_t>(layers) * per_layer);
        } else {
            k32_.resize(static_cast<size_t>(layers) * per_layer);
            v32_.resize(static_cast<size_t>(layers) * per_layer);
        }
    }
    int64_t capacity() const override { return capacity_; }
    KVCacheType type() const override { return type_; }
    int64_t kv_dim() const { return kv_dim_; }

    size_t offset(int layer, int64_t pos) const {
        return (static_cast<size_t>(layer) * capacity_ + pos) * kv_dim_;
    }
    uint16_t* k16(int layer, int64_t pos) { return k16_.data() + offset(layer, pos); }
    uint16_t* v16(int layer, int64_t pos) { return v16_.data() + offset(layer, pos); }
    float* k32(int layer, int64_t pos) { return k32_.data() + offset(layer, pos); }
    float* v32(int layer, int64_t pos) { return v32_.data() + offset(layer, pos); }

private:
    int64_t capacity_, kv_dim_;
    KVCacheType type_;
    std::vector<uint16_t> k16_, v16_;
    std::vector<float> k32_, v32_;
};

// Scratch of one worker thread for attention: grows to the longest context
// once, then is reused.
struct AttentionScratch {
    std::vector<float> scores;     // f32 cache: one score per position
    std::vector<uint16_t> q16;     // f16 cache: the query rounded to f16
    std::vector<uint16_t> acc16;   // f16 cache: the running P.V sum
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

    std::unique_ptr<KVCache> make_kv_cache(int64_t layers, int64_t capacity, int64_t kv_dim,
                                           KVCacheType type) override {
        return std::make_unique<HostKVCache>(layers, capacity, kv_dim, type);
    }

    void get_rows(const Weight& table, const int32_t* ids, int64_t rows, float* y) override {
        for (int64_t r = 0; r < rows; ++r) matmul_.dequantize_row(table, ids[r], y + r * table.cols);
    }

    void rmsnorm(const float* x, const Weight& w, float eps, int64_t rows, int64_t cols, float* y) override {
        const auto* weight = static_cast<const float*>(w.data);
        run_rows(rows, [&](int64_t r) { cpu::rmsnorm_row(x + r * cols, weight, cols, eps, y + r * cols); });
    }

    void matmul(const Weight& w, const float* x, int64_t rows, float* y) override {
        arena_.execute([&] { matmul_.run(w, x, rows, y); });
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
        run_rows(rows, [&](int64_t r) {
            for (int64_t h = 0; h < heads; ++h)
                (style == RopeStyle::neox ? cpu::rope_neox_head : cpu::rope_normal_head)(
                    x + (r * heads + h) * head_dim, head_dim, static_cast<float>(positions[r]), inv.data());
        });
    }

    void attention(int layer, const float* q, const float* k, const float* v, const int32_t* positions,
                   std::span<const SeqSlice> seqs, const AttentionShape& shape, float* out) override {
        const int64_t hd = shape.head_dim;
        const int64_t kv_dim = shape.kv_heads * hd;
        const int64_t q_dim = shape.heads * hd;
        const int64_t group = shape.heads / shape.kv_heads;
        const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
        // 1. store this batch's keys and values (rounded to f16 for an f16 cache)
        for (const SeqSlice& s : seqs) {
            auto& cache = static_cast<HostKVCache&>(*s.cache);
            for (int64_t r = s.first; r < s.first + s.count; ++r) {
                const int64_t pos = positions[r];
                if (cache.type() == KVCacheType::f16) {
                    cpu::f32_to_f16_row(k + r * kv_dim, cache.k16(layer, pos), kv_dim);
                    cpu::f32_to_f16_row(v + r * kv_dim, cache.v16(layer, pos), kv_dim);
                } else {
                    std::copy_n(k + r * kv_dim, kv_dim, cache.k32(layer, pos));
                    std::copy_n(v + r * kv_dim, kv_dim, cache.v32(layer, pos));
                }
            }
        }
        // 2. one task per (row, head); row r sees positions 0..positions[r].
        for (const SeqSlice& s : seqs) {
            auto& cache = static_cast<HostKVCache&>(*s.cache);
            const bool f16 = cache.type() == KVCacheType::f16;
            const cpu::SimdLevel level = matmul_.level();
            const int64_t tasks = s.count * shape.heads;
            arena_.execute([&] {
                tbb::parallel_for(tbb::blocked_range<int64_t>(0, tasks), [&](const tbb::blocked_range<int64_t>& range) {
                    AttentionScratch& scratch = attention_scratch_.local();
                    for (int64_t task = range.begin(); task < range.end(); ++task) {
                        const int64_t r = s.first + task / shape.heads;
                        const int64_t h = task % shape.heads;
                        const int64_t kvh = h / group;
                        const int64_t n = positions[r] + 1;
                        const float* qh = q + r * q_dim + h * hd;
                        float* o = out + r * q_dim + h * hd;
                        if (f16) {
                            scratch.q16.resize(static_cast<size_t>(hd));
                            scratch.acc16.resize(static_cast<size_t>(hd));
                            cpu::f32_to_f16_row(qh, scratch.q16.data(), hd);
                            cpu::attend_head_f16(scratch.q16.data(), cache.k16(layer, 0) + kvh * hd,
                                                 cache.v16(layer, 0) + kvh * hd, kv_dim, n, hd, scale,
                                                 scratch.acc16.data(), o, level);
                        } else {
                            if (static_cast<int64_t>(scratch.scores.size()) < n) scratch.scores.resize(static_cast<size_t>(n));
                            cpu::attend_head_f32(qh, cache.k32(layer, 0) + kvh * hd, cache.v32(layer, 0) + kvh * hd,
                                                 kv_dim, n, hd, scale, scratch.scores.data(), o);
                        }
                    }
                });
            });
        }
    }

    void swiglu(const float* gate, const float* up, int64_t n, float* y) override {
        constexpr int64_t kChunk = 4096;
        run_rows((n + kChunk - 1) / kChunk, [&](int64_t c) {
            const int64_t begin = c * kChunk;
            cpu::swiglu_row(gate + begin, up + begin, std::min(kChunk, n - begin), y + begin);
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
    template <typename Fn>
    void run_rows(int64_t rows, const Fn& fn) {
        if (rows <= 1) {
            if (rows == 1) fn(0);
            return;
        }
        arena_.execute([&] {
            tbb::parallel_for(tbb::blocked_range<int64_t>(0, rows), [&](const tbb::blocked_range<int64_t>& range) {
                for (int64_t r = range.begin(); r < range.end(); ++r) fn(r);
            });
        });
    }

    int threads_;
    tbb::task_arena arena_;
    CpuMatmul matmul_;
    std::deque<std::vector<float>> f32_copies_;  // deque: stable addresses
    tbb::enumerable_thread_specific<AttentionScratch> attention_scratch_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(int threads) { return std::make_unique<CpuBackend>(threads); }

}  // namespace apr::model
