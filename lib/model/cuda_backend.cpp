// The CUDA backend: see cuda_backend.hpp. Host code (g++) over the CUDA
// runtime; the kernels are in kernels/cuda.
#include "model/cuda_backend.hpp"

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <deque>
#include <filesystem>
#include <mutex>
#include <vector>

#include "core/fail.hpp"
#include "cuda/kernels.hpp"
#include "model/weights.hpp"
#include "quant/dequantize.hpp"

namespace apr::model {
namespace {

// cuBLAS is opened on first use (dlopen), not linked: linking it maps its
// large libraries into every program, GPU or not.
struct CublasApi {
    cublasStatus_t (*create)(cublasHandle_t*) = nullptr;
    cublasStatus_t (*destroy)(cublasHandle_t) = nullptr;
    cublasStatus_t (*set_stream)(cublasHandle_t, cudaStream_t) = nullptr;
    cublasStatus_t (*gemm_ex)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int, const void*,
                              const void*, cudaDataType, int, const void*, cudaDataType, int, const void*, void*,
                              cudaDataType, int, cublasComputeType_t, cublasGemmAlgo_t) = nullptr;
    cublasStatus_t (*set_workspace)(cublasHandle_t, void*, size_t) = nullptr;  // optional
    bool ok() const { return create && destroy && set_stream && gemm_ex; }
};

const CublasApi& cublas_api() {
    static const CublasApi api = [] {
        CublasApi a;
        // cublasCreate otherwise takes a default workspace pool of its own
        // (64 MiB on the H200, measured: 6% of a 1.5B model's weights) that
        // the workspace we give each handle (cublasSetWorkspace) does not
        // replace. Set before the library loads and creates a handle; a value
        // the user set wins.
        setenv("CUBLAS_WORKSPACE_CONFIG", ":16:8", 0);
        void* lib = dlopen("libcublas.so.13", RTLD_NOW | RTLD_LOCAL);
        if (lib == nullptr) lib = dlopen("/usr/local/cuda/lib64/libcublas.so.13", RTLD_NOW | RTLD_LOCAL);
        if (lib == nullptr) return a;
        a.create = reinterpret_cast<decltype(a.create)>(dlsym(lib, "cublasCreate_v2"));
        a.destroy = reinterpret_cast<decltype(a.destroy)>(dlsym(lib, "cublasDestroy_v2"));
        a.set_stream = reinterpret_cast<decltype(a.set_stream)>(dlsym(lib, "cublasSetStream_v2"));
        a.gemm_ex = reinterpret_cast<decltype(a.gemm_ex)>(dlsym(lib, "cublasGemmEx"));
        a.set_workspace = reinterpret_cast<decltype(a.set_workspace)>(dlsym(lib, "cublasSetWorkspace_v2"));
        return a;
    }();
    return api;
}

constexpr double kMiB = 1024.0 * 1024.0;

void check(cudaError_t e, const char* what) {
    if (e != cudaSuccess) fail(ErrorCode::internal, "CUDA error in {}: {} ({})", what, cudaGetErrorString(e), static_cast<int>(e));
}

// APR_CUDA_MEMLOG=1: every change in the device's free memory
// (cudaMemGetInfo, so the driver's and cuBLAS's own reservations count too)
// with what the backend did just before (an allocation, a kernel launch, a
// GEMM, a graph), on stderr; for keeping the GPU memory figure of
// docs/performance.md explained. Diagnostics only: one log per process, and
// each launch then waits for a cudaMemGetInfo, so time nothing with it on.
class MemLog {
public:
    static MemLog& get() {
        static MemLog log;
        return log;
    }
    bool on() const { return on_; }
    // Prints when free memory moved since the last look (`always`: anyway).
    void note(std::string_view what, bool always = false) {
        if (!on_) return;
        size_t free = 0, total = 0;
        if (cudaMemGetInfo(&free, &total) != cudaSuccess) return;
        if (first_ == 0) first_ = last_ = free;
        if (free == last_ && !always) return;
        fmt::print(stderr, "cuda memory: {:+8.1f} MiB  {:8.1f} MiB since the first backend began  {}\n",
                   (static_cast<double>(last_) - static_cast<double>(free)) / kMiB,
                   (static_cast<double>(first_) - static_cast<double>(free)) / kMiB, what);
        last_ = free;
    }

private:
    const bool on_ = [] {
        const char* env = std::getenv("APR_CUDA_MEMLOG");
        return env != nullptr && std::string_view(env) == "1";
    }();
    size_t first_ = 0, last_ = 0;
};

// Device memory, freed on destruction.
class DeviceMemory {
public:
    DeviceMemory() = default;
    DeviceMemory(size_t bytes, std::string_view what) { allocate(bytes, what); }
    ~DeviceMemory() { reset(); }
    DeviceMemory(const DeviceMemory&) = delete;
    DeviceMemory& operator=(const DeviceMemory&) = delete;
    DeviceMemory(DeviceMemory&& o) noexcept : p_(o.p_), bytes_(o.bytes_) { o.p_ = nullptr; o.bytes_ = 0; }
    DeviceMemory& operator=(DeviceMemory&& o) noexcept {
        if (this != &o) {
            reset();
            p_ = o.p_;
            bytes_ = o.bytes_;
            o.p_ = nullptr;
            o.bytes_ = 0;
        }
        return *this;
    }

    void allocate(size_t bytes, std::string_view what) {
        reset();
        if (bytes == 0) bytes = 16;
        const cudaError_t e = cudaMalloc(&p_, bytes);
        if (e == cudaErrorMemoryAllocation) {
            cudaGetLastError();  // clear the sticky-free error state
            size_t free = 0, total = 0;
            cudaMemGetInfo(&free, &total);
            fail(ErrorCode::out_of_memory, "CUDA: out of device memory for {}: {:.1f} MiB needed, {:.1f} MiB free of {:.1f} MiB",
                 what, bytes / kMiB, free / kMiB, total / kMiB);
        }
        check(e, "cudaMalloc");
        bytes_ = bytes;
        if (MemLog::get().on()) MemLog::get().note(fmt::format("cudaMalloc {:.2f} MiB for {}", bytes / kMiB, what));
    }
    void reset() {
        if (p_ != nullptr) cudaFree(p_);
        p_ = nullptr;
        bytes_ = 0;
    }
    void* get() const { return p_; }
    size_t bytes() const { return bytes_; }

private:
    void* p_ = nullptr;
    size_t bytes_ = 0;
};

class DeviceBuffer final : public Buffer {
public:
    explicit DeviceBuffer(int64_t floats) : mem_(static_cast<size_t>(floats) * sizeof(float), "an activation buffer") {}
    float* data() override { return static_cast<float*>(mem_.get()); }

private:
    DeviceMemory mem_;
};

// Per layer: `held` positions x kv_dim keys, then the same for values (the
// kernels address (layer * held + pos) * kv_dim). Not paged like the CPU's
// cache (kv_layout.hpp) yet, but memory follows the positions used: resize
// grows the cache to the next power of two of at least 256 positions (at
// most the capacity) and copies what it holds, on the backend's stream, so a
// session with the model's whole trained window costs what it fills, not the
// window up front. It keeps its memory when truncated or reset (regrowing
// costs a copy and new recorded steps).
class DeviceKVCache final : public KVCache {
public:
    DeviceKVCache(const KVLayout& layout, int64_t capacity, cudaStream_t stream)
        : layout_(layout), capacity_(capacity), stream_(stream) {
        if (layout.type == KVCacheType::q8_0)
            fail(ErrorCode::unsupported, "the CUDA backend has no q8_0 KV cache yet (use --kv-type f16 or f32)");
    }
    int64_t capacity() const override { return capacity_; }
    const KVLayout& layout() const override { return layout_; }
    void resize(int64_t positions) override {
        if (positions < 0 || positions > capacity_)
            fail(ErrorCode::internal, "KV cache: resize to {} positions outside 0..{}", positions, capacity_);
        if (positions <= held_) return;
        int64_t want = std::max<int64_t>(256, held_ * 2);
        while (want < positions) want *= 2;
        want = std::min(want, capacity_);
        const size_t row = static_cast<size_t>(layout_.kv_heads * layout_.head_dim) * (layout_.type == KVCacheType::f16 ? 2 : 4);
        const size_t layers = static_cast<size_t>(layout_.layers);
        // Both allocations first: out of memory leaves the cache as it was.
        DeviceMemory k(layers * static_cast<size_t>(want) * row, "the KV cache (keys)");
        DeviceMemory v(layers * static_cast<size_t>(want) * row, "the KV cache (values)");
        if (held_ > 0) {
            const size_t old_bytes = static_cast<size_t>(held_) * row, new_bytes = static_cast<size_t>(want) * row;
            check(cudaMemcpy2DAsync(k.get(), new_bytes, k_.get(), old_bytes, old_bytes, layers, cudaMemcpyDeviceToDevice,
                                    stream_), "growing the KV cache");
            check(cudaMemcpy2DAsync(v.get(), new_bytes, v_.get(), old_bytes, old_bytes, layers, cudaMemcpyDeviceToDevice,
                                    stream_), "growing the KV cache");
            check(cudaStreamSynchronize(stream_), "growing the KV cache");  // the old memory is free to go
        }
        k_ = std::move(k);
        v_ = std::move(v);
        held_ = want;
    }
    int64_t held_positions() const override { return held_; }
    int64_t bytes() const override { return static_cast<int64_t>(k_.bytes() + v_.bytes()); }
    void* k() const { return k_.get(); }
    void* v() const { return v_.get(); }

private:
    KVLayout layout_;
    int64_t capacity_;
    cudaStream_t stream_;
    int64_t held_ = 0;
    DeviceMemory k_, v_;
};

// A device copy of small host arrays (ids, positions, row tables) that is
// refreshed only when the host values change, so the positions shared by
// rope and attention cross once per forward pass.
class Staging {
public:
    const void* upload(const void* host, size_t bytes, cudaStream_t stream) {
        if (bytes == last_.size() && bytes > 0 && std::memcmp(last_.data(), host, bytes) == 0) return mem_.get();
        if (mem_.bytes() < bytes) mem_.allocate(std::max<size_t>(bytes, 4096), "a staging buffer");
        last_.assign(static_cast<const std::byte*>(host), static_cast<const std::byte*>(host) + bytes);
        // Copies from the host vector: pageable memory, so the copy is done
        // with the host bytes before cudaMemcpyAsync returns.
        check(cudaMemcpyAsync(mem_.get(), last_.data(), bytes, cudaMemcpyHostToDevice, stream), "upload");
        return mem_.get();
    }

private:
    DeviceMemory mem_;
    std::vector<std::byte> last_;
};

// Graphs recorded for decode steps, keyed by everything a recording bakes
// in: the batch shape, each row's cache and the activation buffers.
struct StepKey {
    std::vector<const void*> pointers;
    std::vector<int64_t> shape;
    bool operator==(const StepKey&) const = default;
};

// Events kept between traced forward passes for their timers: a pass marks
// each op twice, and creating a few hundred events per pass would cost more
// host time than the pass.
class EventPool {
public:
    EventPool() = default;
    EventPool(const EventPool&) = delete;
    EventPool& operator=(const EventPool&) = delete;
    ~EventPool() {
        for (auto& set : spare_)
            for (cudaEvent_t e : set) cudaEventDestroy(e);
    }
    std::vector<cudaEvent_t> take() {
        std::lock_guard lock(mutex_);
        if (spare_.empty()) return {};
        std::vector<cudaEvent_t> set = std::move(spare_.back());
        spare_.pop_back();
        return set;
    }
    void give(std::vector<cudaEvent_t> set) {
        std::lock_guard lock(mutex_);
        spare_.push_back(std::move(set));
    }

private:
    std::mutex mutex_;
    std::vector<std::vector<cudaEvent_t>> spare_;
};

// Times ops on the device: an event recorded on the stream at every mark
// (before an op is issued and after it), and the time between two of them
// once the later one has passed (cudaEventElapsedTime). Launches are
// asynchronous, so a host clock around them would time the launch, not the
// work. The timer is deferred (see OpTimer): the forward pass asks for the
// times at its end, so the device runs the ops back to back as it does
// untraced, and an op's time is its own work unless the device sat waiting
// for its launch (a traced pass is issued op by op: the forward pass records
// no step while an observer watches, so there is no replayed graph). An op
// the backend holds back to fuse into the next one (RMSNorm before a
// quantized product) shows about zero, and the next op carries its work.
class EventOpTimer final : public OpTimer {
public:
    EventOpTimer(cudaStream_t stream, EventPool& pool) : stream_(stream), pool_(pool), events_(pool.take()) {}
    ~EventOpTimer() override { pool_.give(std::move(events_)); }
    EventOpTimer(const EventOpTimer&) = delete;
    EventOpTimer& operator=(const EventOpTimer&) = delete;
    Mark mark() override {
        if (used_ == events_.size()) {
            cudaEvent_t e = nullptr;
            check(cudaEventCreate(&e), "cudaEventCreate");
            events_.push_back(e);
        }
        check(cudaEventRecord(events_[used_], stream_), "cudaEventRecord");
        return used_++;
    }
    double ms(Mark from, Mark to) override {
        check(cudaEventSynchronize(events_.at(to)), "cudaEventSynchronize");
        float ms = 0;
        check(cudaEventElapsedTime(&ms, events_.at(from), events_.at(to)), "cudaEventElapsedTime");
        return ms;
    }
    bool deferred() const override { return true; }

private:
    cudaStream_t stream_;
    EventPool& pool_;
    std::vector<cudaEvent_t> events_;
    size_t used_ = 0;
};

class CudaBackend final : public Backend {
public:
    // weight_bytes: the model's tensors as stored, held in one allocation
    // (one cudaMalloc per tensor rounds each up to the allocator's 2 MiB
    // pages, about 15% more on a 1.5B model).
    explicit CudaBackend(size_t weight_bytes) {
        check(cudaSetDevice(0), "cudaSetDevice");
        MemLog::get().note("a backend begins", true);
        if (weight_bytes > 0) arena_.allocate(weight_bytes, "the model's weights");
        check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
        check(cudaEventCreateWithFlags(&upload_done_, cudaEventDisableTiming), "cudaEventCreate");
        check(cudaMallocHost(&pinned_, kPinnedBytes), "cudaMallocHost");
        batch_.allocate(kPinnedBytes, "the batch arrays");
        MemLog::get().note("stream, events, pinned and batch arrays");
        // Without cuBLAS (or with our own tensor-core GEMM), prompt batches
        // use the int8 products too.
        if (!own_gemm_ && cublas_api().ok() && cublas_api().create(&cublas_) == CUBLAS_STATUS_SUCCESS) {
            cublas_api().set_stream(cublas_, stream_);
            MemLog::get().note("cublasCreate");
            // A workspace of our own, smaller than cuBLAS's default on Hopper
            // (32 MiB), which counts against the model's memory.
            if (cublas_api().set_workspace != nullptr) {
                cublas_workspace_.allocate(cublas_workspace_bytes_, "cuBLAS's workspace");
                if (cublas_api().set_workspace(cublas_, cublas_workspace_.get(), cublas_workspace_bytes_) != CUBLAS_STATUS_SUCCESS)
                    cublas_workspace_.reset();
            }
        } else {
            cublas_ = nullptr;
        }
    }
    ~CudaBackend() override {
        cudaStreamSynchronize(stream_);
        for (auto& g : graphs_) cudaGraphExecDestroy(g.exec);
        if (cublas_ != nullptr) cublas_api().destroy(cublas_);
        if (ids_pinned_ != nullptr) cudaFreeHost(ids_pinned_);
        cudaFreeHost(pinned_);
        cudaEventDestroy(upload_done_);
        cudaStreamDestroy(stream_);
    }

    std::string_view name() const override { return "cuda"; }
    int threads() const override { return 1; }

    Weight bind(const TensorView& t, bool as_f32) override {
        Weight w{t.name, t.dtype, nullptr, t.rows(), t.cols()};
        if (t.shape.size() == 1) w.rows = 1;
        const void* src = t.data;
        size_t bytes = t.nbytes;
        std::vector<float> converted;
        if (as_f32 && t.dtype != DType::F32) {
            converted.resize(static_cast<size_t>(t.elements()));
            quant::dequantize_row(t.dtype, t.data, converted.data(), t.elements());
            w.type = DType::F32;
            src = converted.data();
            bytes = converted.size() * sizeof(float);
        }
        // In the arena while it has room (f32 copies of small vectors may
        // outgrow the stored bytes it was sized for), else on its own.
        const size_t at = (arena_used_ + 255) / 256 * 256;
        void* dst = nullptr;
        if (arena_.get() != nullptr && at + bytes <= arena_.bytes()) {
            dst = static_cast<std::byte*>(arena_.get()) + at;
            arena_used_ = at + bytes;
        } else {
            dst = weights_.emplace_back(bytes, fmt::format("tensor '{}'", t.name)).get();
        }
        check(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice), "weight upload");
        w.data = dst;
        if (cuda::matmul_supported(w.type) && w.cols > 0 && dtype_info(w.type)->quantized)
            max_act_row_ = std::max(max_act_row_, cuda::activation_row_bytes(w.type, w.cols));
        return w;
    }

    bool supports_matmul(DType type) const override { return cuda::matmul_supported(type); }

    std::unique_ptr<Buffer> alloc(int64_t floats) override { return std::make_unique<DeviceBuffer>(floats); }

    std::unique_ptr<KVCache> make_kv_cache(const KVLayout& layout, int64_t capacity) override {
        return std::make_unique<DeviceKVCache>(layout, capacity, stream_);
    }

    bool begin_batch(const BatchInfo& b) override {
        const int64_t rows = static_cast<int64_t>(b.tokens.size());
        // One transfer: tokens, positions, logit rows, capacities, then the
        // rows' key and value base pointers.
        const size_t n_tok = b.tokens.size(), n_pos = b.positions.size(), n_log = b.logit_rows.size();
        const size_t ints = n_tok + n_pos + n_log + static_cast<size_t>(rows);
        const size_t ptr_at = (ints * 4 + 15) / 16 * 16;
        const size_t bytes = ptr_at + 2 * static_cast<size_t>(rows) * sizeof(void*);
        recording_ = false;
        decode_batch_ = false;
        if (bytes > kPinnedBytes) {
            batch_active_ = false;  // a very large batch: the ops upload their own arrays
            return false;
        }
        check(cudaEventSynchronize(upload_done_), "the previous batch upload");
        auto* ip = static_cast<int32_t*>(pinned_);
        std::copy(b.tokens.begin(), b.tokens.end(), ip);
        std::copy(b.positions.begin(), b.positions.end(), ip + n_tok);
        std::copy(b.logit_rows.begin(), b.logit_rows.end(), ip + n_tok + n_pos);
        int32_t* caps = ip + n_tok + n_pos + n_log;
        auto** kb = reinterpret_cast<void**>(static_cast<std::byte*>(pinned_) + ptr_at);
        void** vb = kb + rows;
        bool f16 = true;
        bool decode = n_log == static_cast<size_t>(rows);
        for (const SeqSlice& s : b.seqs) {
            const auto& cache = static_cast<const DeviceKVCache&>(*s.cache);
            f16 = cache.type() == KVCacheType::f16;
            decode = decode && s.count == 1;
            for (int64_t r = s.first; r < s.first + s.count; ++r) {
                kb[r] = cache.k();
                vb[r] = cache.v();
                caps[r] = static_cast<int32_t>(cache.held_positions());
            }
        }
        check(cudaMemcpyAsync(batch_.get(), pinned_, bytes, cudaMemcpyHostToDevice, stream_), "batch upload");
        check(cudaEventRecord(upload_done_, stream_), "cudaEventRecord");
        const auto* dev = static_cast<const std::byte*>(batch_.get());
        const auto* di = reinterpret_cast<const int32_t*>(dev);
        batch_active_ = true;
        host_tokens_ = b.tokens.data();
        host_positions_ = b.positions.data();
        host_logit_rows_ = b.logit_rows.data();
        dev_tokens_ = di;
        dev_positions_ = di + n_tok;
        dev_logit_rows_ = di + n_tok + n_pos;
        const auto* dptr = reinterpret_cast<void* const*>(dev + ptr_at);
        kv_rows_ = {dptr, dptr + rows, di + n_tok + n_pos + n_log, f16};
        quantized_from_ = nullptr;
        x16_from_ = nullptr;
        decode_batch_ = decode;
        // Prompt batches multiplied on tensor cores never quantize their
        // activations; the rest must not grow act_ inside a recording.
        if (!tensor_core_rows(rows) || mmq_rows(rows)) ensure_act(rows);

        // Decode steps (one row per sequence, logits of each) replay a graph.
        if (!b.may_record || !decode || graphs_disabled_) return false;
        StepKey key;
        key.shape = {rows, static_cast<int64_t>(f16), static_cast<int64_t>(every_row_in_order(b.logit_rows, rows))};
        for (const float* p : b.buffers) key.pointers.push_back(p);
        for (int64_t r = 0; r < rows; ++r) {
            key.pointers.push_back(kb[r]);
            key.shape.push_back(caps[r]);
        }
        key.pointers.push_back(act_.get());
        key.pointers.push_back(rope_table_.get());
        key.pointers.push_back(decode_scratch_.get());
        // A larger batch may have grown (and moved) mmq's scratch since a
        // recording that baked the old address in.
        key.pointers.push_back(mmq_scratch_.get());
        for (auto& g : graphs_)
            if (g.key == key) {
                check(cudaGraphLaunch(g.exec, stream_), "cudaGraphLaunch");
                return true;
            }
        // A step is recorded the second time its shape comes: the first runs
        // op by op, so every scratch buffer it needs (and the rope table,
        // whose address a recording bakes in) exists before a recording.
        const auto seen = std::find(seen_once_.begin(), seen_once_.end(), key);
        if (seen == seen_once_.end()) {
            if (seen_once_.size() >= kMaxGraphs) seen_once_.erase(seen_once_.begin());
            seen_once_.push_back(std::move(key));
            return false;
        }
        seen_once_.erase(seen);
        if (graphs_.size() >= kMaxGraphs) {
            for (auto& g : graphs_) cudaGraphExecDestroy(g.exec);
            graphs_.clear();
        }
        if (rope_table_.get() == nullptr) return false;
        pending_key_ = std::move(key);
        check(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal), "cudaStreamBeginCapture");
        recording_ = true;
        return false;
    }

    void end_step() override {
        flush_norm();
        if (!recording_) return;
        recording_ = false;
        cudaGraph_t graph = nullptr;
        check(cudaStreamEndCapture(stream_, &graph), "cudaStreamEndCapture");
        cudaGraphExec_t exec = nullptr;
        const cudaError_t e = cudaGraphInstantiate(&exec, graph, 0);
        cudaGraphDestroy(graph);
        check(e, "cudaGraphInstantiate");
        MemLog::get().note("cudaGraphInstantiate");
        graphs_.push_back({std::move(pending_key_), exec});
        check(cudaGraphLaunch(exec, stream_), "cudaGraphLaunch");
    }

    void get_rows(const Weight& table, const int32_t* ids, int64_t rows, float* y) override {
        wrote();
        cuda::get_rows(table.type, table.data, table.cols, device_ints(ids, rows, ids_), rows, y, stream_);
        launched("get_rows");
    }

    // The norm is held back one op: when the next op multiplies its output
    // by a quantized weight, one kernel normalizes and quantizes.
    void rmsnorm(const float* x, const Weight& w, float eps, int64_t rows, int64_t cols, float* y) override {
        wrote();
        norm_ = {x, static_cast<const float*>(w.data), eps, rows, cols, y};
    }

    // One decode-sized product y = w x (y += w x when accumulate) by the
    // streaming products (1 to 8 rows) or mmq (decode batches past that);
    // false when neither takes it.
    bool decode_product(const Weight& w, const float* x, int64_t rows, float* y, bool accumulate) {
        const cuda::MatmulJob job{w.data, w.rows, nullptr, y};
        if (matvec_ok(w, rows)) {
            const cuda::MatvecInput in = matvec_input(x, rows, w.cols);
            cuda::matvec(&job, &w.type, 1, w.cols, rows, in, accumulate, stream_);
            launched("matvec");
            return true;
        }
        if (mmq_ok(w, rows)) {
            const void* act = quantize(w.type, x, rows, w.cols);
            mmq_product(w.type, &job, 1, w.cols, act, rows, accumulate);
            return true;
        }
        return false;
    }

    // A scratch of kernels that count in it (attention_decode, mmq), grown to
    // `allocate` bytes when it holds fewer than `need`, and zeroed; never
    // inside a recording (the first step of a shape runs op by op, so the
    // recording finds it grown).
    void grow_zeroed(DeviceMemory& mem, size_t need, size_t allocate, std::string_view what) {
        if (mem.bytes() >= need) return;
        if (recording_) fail(ErrorCode::internal, "CUDA: {} grown during a recording", what);
        check(cudaStreamSynchronize(stream_), fmt::format("growing the {}", what).c_str());
        mem.allocate(allocate, fmt::format("the {}", what));
        check(cudaMemsetAsync(mem.get(), 0, mem.bytes(), stream_), fmt::format("clearing the {}", what).c_str());
    }

    // cuda::mmq with the scratch its split products need (grow_zeroed).
    void mmq_product(DType type, const cuda::MatmulJob* jobs, int count, int64_t k, const void* act, int64_t rows,
                     bool accumulate) {
        const size_t need = cuda::mmq_scratch_bytes(jobs, count, k, rows);
        grow_zeroed(mmq_scratch_, need, std::max<size_t>(need * 2, 1 << 20), "mmq scratch");
        cuda::mmq(type, jobs, count, k, act, rows, accumulate, stream_, mmq_scratch_.get(), mmq_scratch_.bytes());
        launched("mmq");
    }

    void matmul(const Weight& w, const float* x, int64_t rows, float* y) override {
        if (decode_product(w, x, rows, y, false)) return;
        const bool quantized = dtype_info(w.type)->quantized;
        if (quantized && tensor_core_rows(rows)) {
            flush_norm();
            return matmul_tensor_cores(w, x, rows, y);
        }
        const void* act = quantized ? quantize(w.type, x, rows, w.cols) : (flush_norm(), x);
        cuda::matmul_quantized(w.type, w.data, w.rows, w.cols, act, rows, y, stream_);
        launched("matmul");
    }

    void matmul_group(std::span<const LinearJob> jobs, const float* x, int64_t rows) override {
        bool streams = !jobs.empty() && jobs.size() <= static_cast<size_t>(cuda::kMaxGroup);
        for (const LinearJob& j : jobs) streams = streams && matvec_ok(*j.w, rows) && j.w->cols == jobs[0].w->cols;
        if (streams) {
            cuda::MatmulJob list[cuda::kMaxGroup];
            DType types[cuda::kMaxGroup];
            for (size_t i = 0; i < jobs.size(); ++i) {
                const Weight* bias = jobs[i].bias != nullptr && *jobs[i].bias ? jobs[i].bias : nullptr;
                list[i] = {jobs[i].w->data, jobs[i].w->rows, bias ? static_cast<const float*>(bias->data) : nullptr,
                           jobs[i].y};
                types[i] = jobs[i].w->type;
            }
            const cuda::MatvecInput in = matvec_input(x, rows, jobs[0].w->cols);
            if (qkv_fusion_on_ && jobs.size() == 3) {
                // Held back: when rope_qk and attention come next, one
                // kernel multiplies, ropes and stores the cache (attention()).
                qkv_.on = true;
                std::copy(list, list + 3, qkv_.list);
                std::copy(types, types + 3, qkv_.types);
                qkv_.k = jobs[0].w->cols;
                qkv_.rows = rows;
                qkv_.in = in;
                return;
            }
            cuda::matvec(list, types, static_cast<int>(jobs.size()), jobs[0].w->cols, rows, in, false, stream_);
            launched("matvec");
            return;
        }
        bool mmq_all = !jobs.empty();
        for (const LinearJob& j : jobs) mmq_all = mmq_all && mmq_ok(*j.w, rows);
        bool fusable = !jobs.empty() && (!tensor_core_rows(rows) || mmq_all);
        for (const LinearJob& j : jobs)
            fusable = fusable && dtype_info(j.w->type)->quantized && j.w->cols == jobs[0].w->cols &&
                      activation_kind(j.w->type) == activation_kind(jobs[0].w->type);
        if (!fusable || jobs.size() > static_cast<size_t>(cuda::kMaxGroup)) {
            flush_norm();
            return Backend::matmul_group(jobs, x, rows);
        }
        const void* act = quantize(jobs[0].w->type, x, rows, jobs[0].w->cols);
        // One launch per weight type among the jobs (q/k share one, v may differ).
        std::vector<bool> done(jobs.size(), false);
        for (size_t i = 0; i < jobs.size(); ++i) {
            if (done[i]) continue;
            cuda::MatmulJob list[cuda::kMaxGroup];
            int count = 0;
            for (size_t j = i; j < jobs.size(); ++j)
                if (!done[j] && jobs[j].w->type == jobs[i].w->type) {
                    const Weight* bias = jobs[j].bias != nullptr && *jobs[j].bias ? jobs[j].bias : nullptr;
                    list[count++] = {jobs[j].w->data, jobs[j].w->rows, bias ? static_cast<const float*>(bias->data) : nullptr,
                                     jobs[j].y};
                    done[j] = true;
                }
            if (mmq_all) {
                mmq_product(jobs[i].w->type, list, count, jobs[i].w->cols, act, rows, false);
                continue;
            }
            cuda::matmul_group(jobs[i].w->type, list, count, jobs[i].w->cols, act, rows, false, stream_);
            launched("matmul_group");
        }
    }

    void matmul_add(const Weight& w, const float* x, int64_t rows, float* y, float* tmp) override {
        if (decode_product(w, x, rows, y, true)) return;
        if (!dtype_info(w.type)->quantized || tensor_core_rows(rows)) {
            flush_norm();
            return Backend::matmul_add(w, x, rows, y, tmp);
        }
        const void* act = quantize(w.type, x, rows, w.cols);
        const cuda::MatmulJob job{w.data, w.rows, nullptr, y};
        cuda::matmul_group(w.type, &job, 1, w.cols, act, rows, true, stream_);
        launched("matmul_add");
    }

    void matmul_swiglu(const Weight& gate, const Weight& up, const float* x, int64_t rows, float* out,
                       float* up_tmp) override {
        if (matvec_ok(gate, rows) && gate.type == up.type && gate.rows == up.rows && gate.cols == up.cols) {
            const cuda::MatvecInput in = matvec_input(x, rows, gate.cols);
            cuda::matvec_swiglu(gate.type, gate.data, up.data, gate.rows, gate.cols, rows, in, out, stream_);
            launched("matvec_swiglu");
            return;
        }
        if (mmq_ok(gate, rows) && gate.type == up.type && gate.rows == up.rows && gate.cols == up.cols) {
            const void* act = quantize(gate.type, x, rows, gate.cols);
            cuda::mmq_swiglu(gate.type, gate.data, up.data, gate.rows, gate.cols, act, rows, out, stream_);
            launched("mmq_swiglu");
            return;
        }
        if (!dtype_info(gate.type)->quantized || gate.type != up.type || gate.rows != up.rows || tensor_core_rows(rows)) {
            flush_norm();
            return Backend::matmul_swiglu(gate, up, x, rows, out, up_tmp);
        }
        const void* act = quantize(gate.type, x, rows, gate.cols);
        cuda::matmul_swiglu(gate.type, gate.data, up.data, gate.rows, gate.cols, act, rows, out, stream_);
        launched("matmul_swiglu");
    }

    // Held back one op, like the norm: when attention comes next with one
    // position per sequence, one kernel ropes, stores and attends.
    void rope_qk(float* q, float* k, const int32_t* positions, int64_t rows, const AttentionShape& shape, float theta,
                 RopeStyle style) override {
        if (qkv_.on && qkv_.list[0].y == q && qkv_.list[1].y == k) {
            // The held-back QKV product makes q and k; nothing else is held
            // (the product took the norm, and ran any earlier rope).
            quantized_from_ = nullptr;
            x16_from_ = nullptr;
        } else {
            wrote();
        }
        const float* table = inv_freq(theta, shape.head_dim);
        rope_ = {q, k, positions, rows, shape, table, style == RopeStyle::neox};
    }

    void add_bias(float* y, const Weight& bias, int64_t rows, int64_t cols) override {
        wrote();
        cuda::add_bias(y, static_cast<const float*>(bias.data), rows, cols, stream_);
        launched("add_bias");
    }

    void rope(float* x, const int32_t* positions, int64_t rows, int64_t heads, int64_t head_dim, float theta,
              RopeStyle style) override {
        wrote();
        const float* table = inv_freq(theta, head_dim);
        cuda::rope(x, device_ints(positions, rows, positions_), rows, heads, head_dim, table, style == RopeStyle::neox,
                   stream_);
        launched("rope");
    }

    void attention(int layer, const float* q, const float* k, const float* v, const int32_t* positions,
                   std::span<const SeqSlice> seqs, const AttentionShape& shape, float* out) override {
        int64_t rows = 0, max_held = 0;
        bool one_each = true;  // every row its own sequence: decode
        for (const SeqSlice& s : seqs) {
            rows = std::max(rows, s.first + s.count);
            one_each = one_each && s.count == 1;
            max_held = std::max(max_held, s.cache->held_positions());
        }
        const bool roped_here = rope_.q == q && rope_.k == k && rope_.rows == rows && rope_.shape.heads == shape.heads &&
                                rope_.shape.head_dim == shape.head_dim && rope_.positions == positions;
        // The fused kernel wins on long caches (H200, 1.5B: 203 vs 126 tok/s
        // at 4,096 positions, 126 vs 38 at 16,384) but loses on short ones
        // (412 vs 543 at 0: its chunk passes and merge are a longer chain of
        // memory trips than the three small kernels), so it takes over past
        // kFusedDecodeFrom held positions.
        const bool fused = one_each && decode_mode_ != 0 && (decode_mode_ == 1 || max_held >= kFusedDecodeFrom) &&
                           cuda::attention_decode_supported(shape.head_dim) && (roped_here || rope_.q == nullptr);
        const int64_t hd = shape.head_dim;
        if (!fused && roped_here && qkv_.on && qkv_.rows == rows && qkv_.list[0].y == q && qkv_.list[1].y == k &&
            qkv_.list[2].y == v && qkv_.list[0].n == shape.heads * hd && qkv_.list[1].n == shape.kv_heads * hd &&
            qkv_.list[2].n == shape.kv_heads * hd &&
            cuda::matvec_qkv_supported(qkv_.types[0], qkv_.types[1], qkv_.types[2], qkv_.k, rows, hd)) {
            // The held-back QKV product with the rope and the cache store in
            // its epilogue, then attention over the cache.
            const PendingQkv p = qkv_;
            const PendingRope r = rope_;
            qkv_.on = false;
            rope_ = {};
            const cuda::KVRows kv = batch_active_ && positions == host_positions_ ? kv_rows_ : upload_rows(seqs, rows);
            const int32_t* d_pos = device_ints(positions, rows, positions_);
            cuda::matvec_qkv(p.list, p.types, p.k, rows, p.in, {d_pos, r.table, hd, r.neox, kv, layer}, stream_);
            launched("matvec_qkv");
            cuda::attention(kv, layer, q, d_pos, rows, shape.heads, shape.kv_heads, hd,
                            1.0f / std::sqrt(static_cast<float>(hd)), out, stream_);
            launched("attention");
            return;
        }
        // A held-back rope for this attention runs inside attention_decode
        // or with the cache store (rope_qk_store). (fused needs roped_here or
        // no rope held, so nothing else is dropped here.)
        const PendingRope rope = roped_here ? rope_ : PendingRope{};
        if (roped_here) rope_ = {};
        wrote();  // runs a rope that is not for this attention, and a held-back QKV product
        const cuda::KVRows kv = batch_active_ && positions == host_positions_ ? kv_rows_ : upload_rows(seqs, rows);
        const int32_t* d_pos = device_ints(positions, rows, positions_);
        if (fused) {
            const size_t need = cuda::attention_decode_scratch_bytes(rows, shape.heads, shape.head_dim, max_held);
            grow_zeroed(decode_scratch_, need, std::max<size_t>(need * 2, 64 << 10), "attention scratch");
            cuda::attention_decode(kv, layer, q, k, v, d_pos, rows, shape.heads, shape.kv_heads, shape.head_dim,
                                   1.0f / std::sqrt(static_cast<float>(shape.head_dim)), rope.table, rope.neox, max_held,
                                   decode_scratch_.get(), out, stream_);
            launched("attention_decode");
            return;
        }
        if (rope.q != nullptr) {
            cuda::rope_qk_store(kv, layer, rope.q, rope.k, v, d_pos, rows, shape.heads, shape.kv_heads, hd, rope.table,
                                rope.neox, stream_);
            launched("rope_qk_store");
        } else {
            cuda::kv_store(kv, layer, k, v, d_pos, rows, shape.kv_heads * hd, stream_);
            launched("kv_store");
        }
        cuda::attention(kv, layer, q, d_pos, rows, shape.heads, shape.kv_heads, shape.head_dim,
                        1.0f / std::sqrt(static_cast<float>(shape.head_dim)), out, stream_);
        launched("attention");
    }

    void swiglu(const float* gate, const float* up, int64_t n, float* y) override {
        wrote();
        cuda::swiglu(gate, up, n, y, stream_);
        launched("swiglu");
    }

    void add(float* y, const float* x, int64_t n) override {
        wrote();
        cuda::add(y, x, n, stream_);
        launched("add");
    }

    void gather_rows(const float* src, const int32_t* rows, int64_t count, int64_t cols, float* dst) override {
        wrote();
        cuda::gather_rows(src, device_ints(rows, count, gather_), count, cols, dst, stream_);
        launched("gather_rows");
    }

    void to_host(const float* src, int64_t n, float* dst) override {
        flush_norm();
        check(cudaMemcpyAsync(dst, src, static_cast<size_t>(n) * sizeof(float), cudaMemcpyDeviceToHost, stream_),
              "copy to host");
        check(cudaStreamSynchronize(stream_), "the forward pass");
    }

    void from_host(const float* src, int64_t n, float* dst) override {
        wrote();
        // From pageable memory: the copy has read the host floats when it returns.
        check(cudaMemcpyAsync(dst, src, static_cast<size_t>(n) * sizeof(float), cudaMemcpyHostToDevice, stream_),
              "copy from host");
    }

    // The argmax on the device (after the step's graph or ops, on the same
    // stream), then only the ids cross, into pinned memory.
    void argmax_to_host(const float* x, int64_t rows, int64_t n, int32_t* ids) override {
        flush_norm();
        if (rows <= 0) return;
        const size_t bytes = static_cast<size_t>(rows) * sizeof(int32_t);
        if (ids_dev_.bytes() < bytes) {
            check(cudaStreamSynchronize(stream_), "growing the argmax buffers");
            ids_dev_.allocate(std::max<size_t>(bytes, 256), "the argmax ids");
            if (ids_pinned_ != nullptr) cudaFreeHost(ids_pinned_);
            ids_pinned_ = nullptr;
            check(cudaMallocHost(&ids_pinned_, ids_dev_.bytes()), "cudaMallocHost");
        }
        const size_t scratch = cuda::argmax_scratch_bytes(rows);
        if (argmax_scratch_.bytes() < scratch) {
            check(cudaStreamSynchronize(stream_), "growing the argmax scratch");
            argmax_scratch_.allocate(std::max<size_t>(scratch, 4096), "the argmax scratch");
            // On the backend's stream: a plain cudaMemset goes to the legacy
            // stream, which a non-blocking stream does not wait for.
            check(cudaMemsetAsync(argmax_scratch_.get(), 0, argmax_scratch_.bytes(), stream_), "clearing the argmax scratch");
        }
        cuda::argmax_rows(x, rows, n, static_cast<int32_t*>(ids_dev_.get()), argmax_scratch_.get(),
                          static_cast<int64_t>(argmax_scratch_.bytes() / cuda::argmax_scratch_bytes(1)), stream_);
        launched("argmax_rows");
        check(cudaMemcpyAsync(ids_pinned_, ids_dev_.get(), bytes, cudaMemcpyDeviceToHost, stream_), "copy ids to host");
        check(cudaStreamSynchronize(stream_), "the forward pass");
        std::memcpy(ids, ids_pinned_, bytes);
    }

    bool host_memory() const override { return false; }
    std::unique_ptr<OpTimer> make_op_timer() override { return std::make_unique<EventOpTimer>(stream_, event_pool_); }

private:
    static constexpr size_t kPinnedBytes = 1 << 20;
    static constexpr int64_t kFusedDecodeFrom = 2048;
    // Fewest columns of a weight per tensor-core slice before rows are sliced too.
    static constexpr int64_t kMinSliceCols = 256;
    static constexpr size_t kMaxGraphs = 32;
    // Prompt batches of at least this many rows multiply on tensor cores.
    static constexpr int64_t kTensorCoreRows = 64;
    static constexpr int64_t kDecodeTensorCoreRows = 16;
    static constexpr int64_t kMmqFromRows = 6;
    // Measurement knobs (defaults measured on the H200, docs/performance.md):
    // APR_CUDA_F16_SCRATCH_MIB, the f16 weight scratch of the tensor-core
    // products; APR_CUDA_CUBLAS_WORKSPACE_KIB, the workspace given to cuBLAS.
    static int64_t env_or(const char* name, int64_t fallback) {
        const char* env = std::getenv(name);
        if (env == nullptr || *env == '\0') return fallback;
        char* end = nullptr;
        const long long v = std::strtoll(env, &end, 10);
        return end != nullptr && *end == '\0' && v >= 0 ? v : fallback;
    }
    const int64_t f16_scratch_elements_ =
        std::max<int64_t>(int64_t{1} << 16, env_or("APR_CUDA_F16_SCRATCH_MIB", 16) << 19);
    // APR_CUDA_GEMM=own: prompt products through gemm_f16 (kernels/cuda),
    // no cuBLAS handle at all.
    const bool own_gemm_ = [] {
        const char* env = std::getenv("APR_CUDA_GEMM");
        return env != nullptr && std::string_view(env) == "own";
    }();
    const size_t cublas_workspace_bytes_ = static_cast<size_t>(env_or("APR_CUDA_CUBLAS_WORKSPACE_KIB", 4 << 10)) << 10;
    // APR_CUDA_DECODE_TC_ROWS: decode batches of at least this many rows
    // multiply on tensor cores (default measured on the H200, docs/performance.md).
    const int64_t decode_tensor_core_rows_ = std::max<int64_t>(1, env_or("APR_CUDA_DECODE_TC_ROWS", kDecodeTensorCoreRows));
    bool decode_batch_ = false;  // the announced batch is one row per sequence
    // APR_CUDA_MMQ_FROM: decode batches of at least this many rows use mmq
    // (0: never, for measuring the f16 / dp4a paths it replaced). Measured
    // on the H200 with the k split (1.5B-shaped, tg64 @ d128): at 8 rows
    // 2,462 tok/s through mmq against 1,909 through matvec, at 4 rows 1,322
    // against 1,622, so mmq takes batches from 6 rows (docs/performance.md).
    const int64_t mmq_from_ = env_or("APR_CUDA_MMQ_FROM", kMmqFromRows);

    struct Recorded {
        StepKey key;
        cudaGraphExec_t exec;
    };

    static DType activation_kind(DType w) {
        switch (w) {
            case DType::Q4_K: case DType::Q5_K: case DType::Q6_K: return DType::Q8_K;
            case DType::Q4_1: case DType::Q5_1: return DType::Q8_1;
            default: return DType::Q8_0;
        }
    }

    // Launch errors (bad configuration) show at once; faults show at the next sync.
    static void launched(const char* op) {
        check(cudaGetLastError(), op);
        MemLog::get().note(op);
    }
    // Any op that writes activations may change what was quantized last;
    // it also runs a held-back norm first.
    void wrote() {
        flush_norm();
        quantized_from_ = nullptr;
        x16_from_ = nullptr;
    }

    struct PendingRope {
        float* q = nullptr;
        float* k = nullptr;
        const int32_t* positions = nullptr;
        int64_t rows = 0;
        AttentionShape shape{0, 0, 0};
        const float* table = nullptr;
        bool neox = true;
    };

    struct PendingQkv {
        bool on = false;
        cuda::MatmulJob list[3];
        DType types[3];
        int64_t k = 0, rows = 0;
        cuda::MatvecInput in{nullptr};
    };

    // A held-back QKV product (matmul_group) runs as a plain matvec.
    void flush_qkv() {
        if (!qkv_.on) return;
        const PendingQkv p = qkv_;
        qkv_.on = false;
        cuda::matvec(p.list, p.types, 3, p.k, p.rows, p.in, false, stream_);
        launched("matvec");
    }

    void flush_rope() {
        flush_qkv();  // it makes the rope's input
        if (rope_.q == nullptr) return;
        const PendingRope r = rope_;
        rope_ = {};
        cuda::rope_qk(r.q, r.k, device_ints(r.positions, r.rows, positions_), r.rows, r.shape.heads, r.shape.kv_heads,
                      r.shape.head_dim, r.table, r.neox, stream_);
        launched("rope_qk");
        quantized_from_ = nullptr;
        x16_from_ = nullptr;
    }

    struct PendingNorm {
        const float* x = nullptr;
        const float* w = nullptr;
        float eps = 0;
        int64_t rows = 0, cols = 0;
        float* y = nullptr;
    };

    void flush_norm() {
        flush_rope();
        if (norm_.y == nullptr) return;
        const PendingNorm n = norm_;
        norm_ = {};
        cuda::rmsnorm(n.x, n.w, n.eps, n.rows, n.cols, n.y, stream_);
        launched("rmsnorm");
        quantized_from_ = nullptr;
        x16_from_ = nullptr;
    }

    // Quantized products of this many rows or more run on tensor cores
    // (f16 slices of the weight + cuBLAS): prompt batches from
    // kTensorCoreRows, decode batches (one row per sequence, recorded as
    // graphs) from decode_tensor_core_rows_: the int8 products read each
    // weight row once per 8 tokens and redo its unpacking for every token,
    // so they lose to a GEMM long before prompt sizes.
    bool tensor_core_rows(int64_t rows) const {
        return rows >= (decode_batch_ ? decode_tensor_core_rows_ : kTensorCoreRows) && (cublas_ != nullptr || own_gemm_);
    }

    // Up to cuda::kMatvecRows activation rows times a Q4_K / Q6_K weight
    // (decode): the streaming products (kernels/cuda/matvec.cu), which
    // quantize x themselves; a row's results there do not depend on the rows
    // beside it, so a batch row equals the same sequence decoded alone.
    // APR_CUDA_MATVEC=0: the products of matmul_impl.cuh after a quantize
    // kernel, as before (for measuring).
    bool matvec_ok(const Weight& w, int64_t rows) const {
        return matvec_on_ && !tensor_core_rows(rows) && !mmq_ok(w, rows) && cuda::matvec_supported(w.type, w.cols, rows);
    }

    // Decode batches of mmq_from_ rows or more (one row per sequence) with
    // Q4_K / Q6_K weights: the int8 tensor-core products of mmq.cu, straight
    // from the stored blocks, in place of the f16 copies and cuBLAS (which
    // rewrote every weight as f16 each step: 13.7 ms a step at 32 rows,
    // H200) and of the 9..15-row dp4a products. A row's results there do not
    // depend on the rows beside it (bit for bit), and equal matvec's (a
    // batch of up to 8 rows, or the sequence alone) up to f32 summation order.
    bool mmq_rows(int64_t rows) const { return decode_batch_ && mmq_from_ > 0 && rows >= mmq_from_; }
    bool mmq_ok(const Weight& w, int64_t rows) const { return mmq_rows(rows) && cuda::mmq_supported(w.type, w.cols, w.rows); }

    // The matvec's input: x, or the held-back norm whose output x is, run
    // inside the product (unless it is in place: the product's blocks read x
    // while one writes the normalized rows).
    cuda::MatvecInput matvec_input(const float* x, int64_t rows, int64_t cols) {
        cuda::MatvecInput in{x};
        flush_rope();
        if (norm_.y == x && norm_.rows == rows && norm_.cols == cols && norm_.x != norm_.y) {
            in = {norm_.x, norm_.w, norm_.eps, norm_.y};
            norm_ = {};
        } else {
            flush_norm();
        }
        // act_ is not touched, but the product may overwrite a buffer it
        // was quantized from.
        quantized_from_ = nullptr;
        x16_from_ = nullptr;
        // Long rows (ffn_down's) are quantized once here rather than by
        // every block of the product (Q4_K and Q6_K both take Q8_K rows).
        if (in.norm_w == nullptr && prequantize_on_ && cuda::matvec_prefers_quantized(cols))
            in.xq = quantize(DType::Q4_K, x, rows, cols);
        return in;
    }

    // x (rows x cols) quantized for weights of type `weight`, in act_: reused
    // when the same input was just quantized (q/k/v, gate/up), fused with a
    // held-back norm whose output x is.
    const void* quantize(DType weight, const float* x, int64_t rows, int64_t cols) {
        const DType act_type = activation_kind(weight);
        if (norm_.y == x && norm_.rows == rows && norm_.cols == cols) {
            const PendingNorm n = norm_;
            norm_ = {};
            ensure_act(rows);
            cuda::rmsnorm_quantize(n.x, n.w, n.eps, rows, cols, n.y, weight, act_.get(), stream_);
            launched("rmsnorm_quantize");
        } else {
            flush_norm();
            if (quantized_from_ == x && quantized_rows_ == rows && quantized_cols_ == cols && quantized_type_ == act_type)
                return act_.get();
            ensure_act(rows);
            cuda::quantize_activations(weight, x, rows, cols, act_.get(), stream_);
            launched("quantize_activations");
        }
        quantized_from_ = x;
        quantized_rows_ = rows;
        quantized_cols_ = cols;
        quantized_type_ = act_type;
        return act_.get();
    }

    void ensure_act(int64_t rows) {
        const size_t need = std::max<size_t>(max_act_row_, 16) * static_cast<size_t>(std::max<int64_t>(rows, 1));
        if (act_.bytes() < need) {
            if (recording_) fail(ErrorCode::internal, "CUDA: activation scratch grown during a recording");
            check(cudaStreamSynchronize(stream_), "growing the activation scratch");
            act_.allocate(need, "quantized activations");
        }
    }

    // The device copy of a host array the ops were given: the batch's own
    // arrays were copied in begin_batch; anything else is uploaded here.
    const int32_t* device_ints(const int32_t* host, int64_t n, Staging& staging) {
        if (batch_active_) {
            if (host == host_tokens_) return dev_tokens_;
            if (host == host_positions_) return dev_positions_;
            if (host == host_logit_rows_) return dev_logit_rows_;
        }
        if (recording_) fail(ErrorCode::internal, "CUDA: an op's array was not announced in begin_batch");
        return static_cast<const int32_t*>(staging.upload(host, static_cast<size_t>(n) * sizeof(int32_t), stream_));
    }

    cuda::KVRows upload_rows(std::span<const SeqSlice> seqs, int64_t rows) {
        row_k_.assign(static_cast<size_t>(rows), nullptr);
        row_v_.assign(static_cast<size_t>(rows), nullptr);
        row_cap_.assign(static_cast<size_t>(rows), 0);
        bool f16 = true;
        for (const SeqSlice& s : seqs) {
            const auto& cache = static_cast<const DeviceKVCache&>(*s.cache);
            f16 = cache.type() == KVCacheType::f16;
            for (int64_t r = s.first; r < s.first + s.count; ++r) {
                row_k_[static_cast<size_t>(r)] = cache.k();
                row_v_[static_cast<size_t>(r)] = cache.v();
                row_cap_[static_cast<size_t>(r)] = static_cast<int32_t>(cache.held_positions());
            }
        }
        return {static_cast<void* const*>(row_k_stage_.upload(row_k_.data(), rows * sizeof(void*), stream_)),
                static_cast<void* const*>(row_v_stage_.upload(row_v_.data(), rows * sizeof(void*), stream_)),
                static_cast<const int32_t*>(row_cap_stage_.upload(row_cap_.data(), rows * sizeof(int32_t), stream_)), f16};
    }

    // y = x W^T for a prompt batch: W dequantized to f16, x rounded to f16,
    // products on tensor cores with f32 accumulation. The f16 copy of W
    // lives in scratch of f16_scratch_elements_ values: a larger weight is
    // multiplied in slices of its columns (k), each slice's product added
    // into y (beta 1), so each GEMM keeps all of the weight's rows as output
    // tiles (slices of rows instead made GEMMs too narrow to fill the card:
    // 8 MiB of scratch cut a third off pp512); x is then converted to f16 a
    // slice at a time too. Rows are sliced only when even kMinSliceCols
    // columns of every row do not fit.
    void matmul_tensor_cores(const Weight& w, const float* x, int64_t rows, float* y) {
        const int64_t k = w.cols, n = w.rows, budget = f16_scratch_elements_;
        int64_t kc = k;
        if (n * k > budget) {
            const int64_t parts = (n * k + budget - 1) / budget;
            kc = std::min(k, std::max(std::min(k, kMinSliceCols), ((k + parts - 1) / parts + 63) / 64 * 64));
        }
        const int64_t nr = std::max<int64_t>(1, std::min(n, budget / kc));
        const bool whole_x = kc == k;
        const size_t x_bytes = static_cast<size_t>(rows * kc) * 2;
        const size_t w_bytes = static_cast<size_t>(nr * kc) * 2;
        if (x16_.bytes() < x_bytes || w16_.bytes() < w_bytes) {
            // A recorded step's shape ran op by op once before, so its scratch exists.
            if (recording_) fail(ErrorCode::internal, "CUDA: f16 scratch grown during a recording");
            check(cudaStreamSynchronize(stream_), "growing the f16 scratch");
            if (x16_.bytes() < x_bytes) x16_.allocate(x_bytes, "f16 activations");
            if (w16_.bytes() < w_bytes) w16_.allocate(w_bytes, "f16 weights");
            x16_from_ = nullptr;
        }
        if (whole_x && !(x16_from_ == x && x16_rows_ == rows && x16_cols_ == k)) {
            cuda::to_f16(x, rows * k, static_cast<uint16_t*>(x16_.get()), stream_);
            launched("to_f16");
            x16_from_ = x;
            x16_rows_ = rows;
            x16_cols_ = k;
        }
        if (!whole_x) x16_from_ = nullptr;  // x16_ will hold a slice of x
        const float one = 1.0f, zero = 0.0f;
        for (int64_t c0 = 0; c0 < k; c0 += kc) {
            const int64_t nc = std::min(kc, k - c0);
            if (!whole_x) {
                cuda::to_f16_cols(x, rows, k, c0, nc, static_cast<uint16_t*>(x16_.get()), stream_);
                launched("to_f16_cols");
            }
            for (int64_t r0 = 0; r0 < n; r0 += nr) {
                const int64_t rs = std::min(nr, n - r0);
                cuda::dequantize_f16(w.type, w.data, k, r0, rs, c0, nc, static_cast<uint16_t*>(w16_.get()), stream_);
                launched("dequantize_f16");
                if (own_gemm_) {
                    cuda::gemm_f16(static_cast<const uint16_t*>(x16_.get()), nc, static_cast<const uint16_t*>(w16_.get()),
                                   nc, rows, rs, nc, y + r0, n, c0 != 0, stream_);
                    launched("gemm_f16");
                    continue;
                }
                // Column-major view: Y^T (n x rows) = W (k x n)^T X^T (k x rows).
                const cublasStatus_t st = cublas_api().gemm_ex(
                    cublas_, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(rs), static_cast<int>(rows), static_cast<int>(nc),
                    &one, w16_.get(), CUDA_R_16F, static_cast<int>(nc), x16_.get(), CUDA_R_16F, static_cast<int>(nc),
                    c0 == 0 ? &zero : &one, y + r0, CUDA_R_32F, static_cast<int>(n), CUBLAS_COMPUTE_32F,
                    CUBLAS_GEMM_DEFAULT);
                if (st != CUBLAS_STATUS_SUCCESS)
                    fail(ErrorCode::internal, "CUDA: cublasGemmEx failed (status {})", static_cast<int>(st));
            }
        }
        MemLog::get().note("cublasGemmEx");
    }

    const float* inv_freq(float theta, int64_t head_dim) {
        if (theta != rope_theta_ || head_dim != rope_dim_) {
            if (recording_) fail(ErrorCode::internal, "CUDA: rope table built during a recording");
            // 1 / theta^(2i/d) in f32, as the CPU backend computes it.
            std::vector<float> inv(static_cast<size_t>(head_dim / 2));
            for (int64_t i = 0; i < head_dim / 2; ++i)
                inv[static_cast<size_t>(i)] = 1.0f / std::pow(theta, static_cast<float>(2 * i) / static_cast<float>(head_dim));
            check(cudaStreamSynchronize(stream_), "replacing the rope table");
            rope_table_.allocate(inv.size() * sizeof(float), "the rope table");
            check(cudaMemcpy(rope_table_.get(), inv.data(), inv.size() * sizeof(float), cudaMemcpyHostToDevice),
                  "rope table upload");
            rope_theta_ = theta;
            rope_dim_ = head_dim;
        }
        return static_cast<const float*>(rope_table_.get());
    }

    cudaStream_t stream_ = nullptr;
    cudaEvent_t upload_done_ = nullptr;
    cublasHandle_t cublas_ = nullptr;
    DeviceMemory cublas_workspace_;
    void* pinned_ = nullptr;
    DeviceMemory batch_;
    DeviceMemory ids_dev_;  // argmax_to_host's ids, then their pinned host copy
    void* ids_pinned_ = nullptr;
    DeviceMemory arena_;  // the weights, one after another (256-byte aligned)
    size_t arena_used_ = 0;
    std::deque<DeviceMemory> weights_;  // those that did not fit the arena
    size_t max_act_row_ = 0;
    DeviceMemory act_, rope_table_, x16_, w16_;
    float rope_theta_ = 0.0f;
    int64_t rope_dim_ = 0;
    // What act_ holds: x (rows x cols) quantized for weights pairing with act type.
    const float* quantized_from_ = nullptr;
    int64_t quantized_rows_ = 0, quantized_cols_ = 0;
    DType quantized_type_ = DType::F32;
    PendingNorm norm_;
    PendingRope rope_;
    PendingQkv qkv_;
    DeviceMemory decode_scratch_;  // attention_decode's chunk partials and counters
    DeviceMemory mmq_scratch_;     // mmq's split products: tickets and partial sums
    DeviceMemory argmax_scratch_;  // argmax_rows' block results and counters
    const float* x16_from_ = nullptr;
    int64_t x16_rows_ = 0, x16_cols_ = 0;
    // The announced batch (begin_batch) and its device copies.
    bool batch_active_ = false, recording_ = false;
    // APR_CUDA_QKV_FUSED=0: the decode QKV product without the rope and the
    // cache store in its epilogue (a rope_qk_store kernel after it).
    const bool qkv_fusion_on_ = [] {
        const char* env = std::getenv("APR_CUDA_QKV_FUSED");
        return env == nullptr || std::string_view(env) != "0";
    }();
    const bool matvec_on_ = [] {
        const char* env = std::getenv("APR_CUDA_MATVEC");
        return env == nullptr || std::string_view(env) != "0";
    }();
    // APR_CUDA_MV_PREQUANTIZE=0: long rows quantized inside the product too (for measuring).
    const bool prequantize_on_ = [] {
        const char* env = std::getenv("APR_CUDA_MV_PREQUANTIZE");
        return env == nullptr || std::string_view(env) != "0";
    }();
    const bool graphs_disabled_ = [] {
        const char* env = std::getenv("APR_CUDA_GRAPHS");
        return env != nullptr && std::string_view(env) == "0";
    }();
    // APR_CUDA_FUSED_DECODE=0: decode attention always as rope_qk_store
    // + attention; =1: always fused; unset: fused from kFusedDecodeFrom held
    // positions (for measuring what the fused kernel is worth).
    const int decode_mode_ = [] {
        const char* env = std::getenv("APR_CUDA_FUSED_DECODE");
        if (env == nullptr) return 2;
        return std::string_view(env) == "0" ? 0 : std::string_view(env) == "1" ? 1 : 2;
    }();
    const int32_t *host_tokens_ = nullptr, *host_positions_ = nullptr, *host_logit_rows_ = nullptr;
    const int32_t *dev_tokens_ = nullptr, *dev_positions_ = nullptr, *dev_logit_rows_ = nullptr;
    cuda::KVRows kv_rows_{};
    std::vector<Recorded> graphs_;
    EventPool event_pool_;  // the op timers' events (traced passes)
    StepKey pending_key_;
    std::vector<StepKey> seen_once_;
    Staging ids_, positions_, gather_, row_k_stage_, row_v_stage_, row_cap_stage_;
    std::vector<void*> row_k_, row_v_;
    std::vector<int32_t> row_cap_;
};

}  // namespace

bool cuda_available(std::string* why) {
    int count = 0;
    const cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        if (why) *why = fmt::format("the CUDA driver reports: {}", cudaGetErrorString(e));
        cudaGetLastError();
        return false;
    }
    if (count == 0) {
        if (why) *why = "no CUDA device found";
        return false;
    }
    return true;
}

CudaProbe probe_cuda(std::string* why) {
    int count = 0;
    const cudaError_t e = cudaGetDeviceCount(&count);
    if (e == cudaSuccess && count > 0) return CudaProbe::ready;
    cudaGetLastError();
    const bool device_node = std::filesystem::exists("/dev/nvidia0") || std::filesystem::exists("/dev/nvidiactl");
    if (why) *why = e == cudaSuccess ? std::string("no CUDA device found") : fmt::format("the CUDA runtime reports: {}", cudaGetErrorString(e));
    const bool nothing_there = e == cudaSuccess || e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver;
    return nothing_there && !device_node ? CudaProbe::absent : CudaProbe::broken;
}

std::unique_ptr<Backend> make_cuda_backend(const ModelFile& file, size_t needed) {
    std::string why;
    if (!cuda_available(&why)) fail(ErrorCode::unsupported, "{}: CUDA was asked for but {}", file.path().string(), why);
    check(cudaSetDevice(0), "cudaSetDevice");
    size_t free = 0, total = 0;
    check(cudaMemGetInfo(&free, &total), "cudaMemGetInfo");
    cudaDeviceProp prop{};
    cudaGetDeviceProperties(&prop, 0);
    if (needed > free)
        fail(ErrorCode::out_of_memory, "{}: the weights need {:.1f} MiB on {} but only {:.1f} MiB of {:.1f} MiB are free",
             file.path().string(), needed / kMiB, prop.name, free / kMiB, total / kMiB);
    return std::make_unique<CudaBackend>(needed);
}

}  // namespace apr::model
