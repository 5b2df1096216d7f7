#include "cpu/matmul.hpp"

#include <algorithm>
#include <functional>
#include <vector>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>
#include <tbb/task_arena.h>

#include "core/fail.hpp"
#include "cpu/dispatch.hpp"
#include "cpu/quant_dot.hpp"

namespace apr::cpu {

namespace {

void check_weight(const MatmulWeight& w) {
    if (w.data == nullptr) fail(ErrorCode::invalid_argument, "CPU matmul: weight data is null");
    if (w.rows <= 0 || w.cols <= 0)
        fail(ErrorCode::invalid_argument, "CPU matmul: weight shape {}x{} must be positive", w.rows, w.cols);
    activation_row_bytes(w.type, w.cols);  // checks the type and that rows are whole blocks
}

// Rows per task: enough tasks to balance the threads (the machine is shared,
// so a core may stall), few enough that scheduling stays cheap. Results do
// not depend on this split, only speed does.
int64_t rows_per_task(int64_t rows, int64_t t) {
    const int64_t threads = std::max(1, tbb::this_task_arena::max_concurrency());
    const int64_t tasks_wanted = threads == 1 ? 1 : threads * (t == 1 ? 4 : 8);
    int64_t chunk = (rows + tasks_wanted - 1) / tasks_wanted;
    chunk = (chunk + 15) / 16 * 16;  // whole tiles of rows
    return std::max<int64_t>(16, chunk);
}

}  // namespace

void quantize_activations(DType weight_type, const float* x, int64_t t, int64_t k, std::byte* act,
                          SimdLevel level) {
    const size_t row_bytes = activation_row_bytes(weight_type, k);
    if (t <= 0) return;
    const KernelTable& table = kernels_for(level);
    QuantizeRowFn quantize = nullptr;
    switch (activation_type(weight_type)) {
        case DType::Q8_K: quantize = table.quantize_q8_K; break;
        case DType::Q8_0: quantize = table.quantize_q8_0; break;
        case DType::Q8_1: quantize = table.quantize_q8_1; break;
        default: break;
    }
    auto quantize_rows = [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
            if (quantize)
                quantize(x + i * k, act + i * row_bytes, k);
            else
                std::copy_n(x + i * k, k, reinterpret_cast<float*>(act + i * row_bytes));
        }
    };
    if (t < 8) {
        quantize_rows(0, t);
    } else {
        tbb::parallel_for(tbb::blocked_range<int64_t>(0, t, 4),
                          [&](const tbb::blocked_range<int64_t>& r) { quantize_rows(r.begin(), r.end()); });
    }
}

void matmul_quantized(const MatmulWeight& w, const std::byte* act, int64_t t, float* y, SimdLevel level) {
    check_weight(w);
    if (t <= 0) return;
    if (act == nullptr || y == nullptr) fail(ErrorCode::invalid_argument, "CPU matmul: null activation or output");
    const TileFn tile = kernels_for(level).for_weight(w.type)->tile;
    const size_t w_row_bytes = dtype_bytes(w.type, w.cols);
    const size_t act_row_bytes = activation_row_bytes(w.type, w.cols);
    const int64_t chunk = rows_per_task(w.rows, t);
    const int64_t tasks = (w.rows + chunk - 1) / chunk;
    auto run = [&](int64_t task) {
        const int64_t r0 = task * chunk;
        const int64_t nrows = std::min(chunk, w.rows - r0);
        tile(w.cols, w.data + r0 * w_row_bytes, w_row_bytes, nrows, act, act_row_bytes, t, y + r0, w.rows);
    };
    if (tasks == 1) {
        run(0);
        return;
    }
    tbb::parallel_for(tbb::blocked_range<int64_t>(0, tasks, 1),
                      [&](const tbb::blocked_range<int64_t>& r) {
                          for (int64_t task = r.begin(); task < r.end(); ++task) run(task);
                      },
                      tbb::simple_partitioner());
}

void with_quantized_activations(DType weight_type, const float* x, int64_t t, int64_t k, SimdLevel level,
                                const std::function<void(const std::byte*)>& fn) {
    // The calling thread's buffer, unless a matmul on this thread is already
    // using it: while this thread waits inside parallel_for, TBB may run
    // another task here that calls matmul too (nested parallelism), and that
    // call must not overwrite our activations. Then it takes its own buffer.
    struct Scratch {
        std::vector<std::byte> bytes;
        bool busy = false;
    };
    thread_local Scratch scratch;
    std::vector<std::byte> own;
    const bool use_shared = !scratch.busy;
    std::vector<std::byte>& buffer = use_shared ? scratch.bytes : own;
    const size_t bytes = activation_row_bytes(weight_type, k) * static_cast<size_t>(t);
    if (buffer.size() < bytes) buffer.resize(bytes);
    struct BusyGuard {
        bool* flag;
        ~BusyGuard() {
            if (flag) *flag = false;
        }
    } guard{use_shared ? &scratch.busy : nullptr};
    if (use_shared) scratch.busy = true;
    quantize_activations(weight_type, x, t, k, buffer.data(), level);
    fn(buffer.data());
}

void matmul(const MatmulWeight& w, const float* x, int64_t t, float* y, SimdLevel level) {
    check_weight(w);
    if (t <= 0) return;
    if (x == nullptr || y == nullptr) fail(ErrorCode::invalid_argument, "CPU matmul: null input or output");
    // Float weights read x directly; everything else quantizes it once.
    if (activation_type(w.type) == DType::F32) {
        matmul_quantized(w, reinterpret_cast<const std::byte*>(x), t, y, level);
        return;
    }
    with_quantized_activations(w.type, x, t, w.cols, level,
                               [&](const std::byte* act) { matmul_quantized(w, act, t, y, level); });
}

}  // namespace apr::cpu
