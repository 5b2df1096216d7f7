// The CUDA backend: see cuda_backend.hpp. Host code (g++) over the CUDA
// runtime; the kernels are in kernels/cuda.
#include "model/cuda_backend.hpp"

#include <cuda_runtime.h>

#include <cmath>
#include <cstring>
#include <deque>
#include <filesystem>
#include <vector>

#include "core/fail.hpp"
#include "cuda/kernels.hpp"
#include "model/weights.hpp"
#include "quant/dequantize.hpp"

namespace apr::model {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;

void check(cudaError_t e, const char* what) {
    if (e != cudaSuccess) fail(ErrorCode::internal, "CUDA error in {}: {} ({})", what, cudaGetErrorString(e), static_cast<int>(e));
}

// Device memory, freed on destruction.
class DeviceMemory {
public:
    DeviceMemory() = default;
    DeviceMemory(size_t bytes, std::string_view what) { allocate(bytes, what); }
    ~DeviceMemory() { reset(); }
    DeviceMemory(const DeviceMemory&) = delete;
    DeviceMemory& operator=(const DeviceMemory&) = delete;
    DeviceMemory(DeviceMemory&& o) noexcept : p_(o.p_), bytes_(o.bytes_) { o.p_ = nullptr; o.bytes_ = 0; }

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

// Per layer: capacity x kv_dim keys, then the same for values (as the CPU's).
class DeviceKVCache final : public KVCache {
public:
    DeviceKVCache(int64_t layers, int64_t capacity, int64_t kv_dim, KVCacheType type)
        : capacity_(capacity), type_(type) {
        const size_t bytes = static_cast<size_t>(layers * capacity * kv_dim) * (type == KVCacheType::f16 ? 2 : 4);
        k_.allocate(bytes, "the KV cache (keys)");
        v_.allocate(bytes, "the KV cache (values)");
    }
    int64_t capacity() const override { return capacity_; }
    KVCacheType type() const override { return type_; }
    void* k() const { return k_.get(); }
    void* v() const { return v_.get(); }
    size_t bytes() const { return k_.bytes() + v_.bytes(); }

private:
    int64_t capacity_;
    KVCacheType type_;
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

class CudaBackend final : public Backend {
public:
    CudaBackend() {
        check(cudaSetDevice(0), "cudaSetDevice");
        check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
    }
    ~CudaBackend() override {
        cudaStreamSynchronize(stream_);
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
        DeviceMemory& mem = weights_.emplace_back(bytes, fmt::format("tensor '{}'", t.name));
        check(cudaMemcpy(mem.get(), src, bytes, cudaMemcpyHostToDevice), "weight upload");
        weight_bytes_ += bytes;
        w.data = mem.get();
        return w;
    }

    bool supports_matmul(DType type) const override { return cuda::matmul_supported(type); }

    std::unique_ptr<Buffer> alloc(int64_t floats) override { return std::make_unique<DeviceBuffer>(floats); }

    std::unique_ptr<KVCache> make_kv_cache(int64_t layers, int64_t capacity, int64_t kv_dim,
                                           KVCacheType type) override {
        return std::make_unique<DeviceKVCache>(layers, capacity, kv_dim, type);
    }

    void get_rows(const Weight& table, const int32_t* ids, int64_t rows, float* y) override {
        const auto* d_ids = static_cast<const int32_t*>(ids_.upload(ids, rows * sizeof(int32_t), stream_));
        cuda::get_rows(table.type, table.data, table.cols, d_ids, rows, y, stream_);
        launched("get_rows");
    }

    void rmsnorm(const float* x, const Weight& w, float eps, int64_t rows, int64_t cols, float* y) override {
        cuda::rmsnorm(x, static_cast<const float*>(w.data), eps, rows, cols, y, stream_);
        launched("rmsnorm");
    }

    void matmul(const Weight& w, const float* x, int64_t rows, float* y) override {
        const void* act = x;
        if (w.type != DType::F32 && w.type != DType::F16 && w.type != DType::BF16) {
            const size_t bytes = cuda::activation_row_bytes(w.type, w.cols) * static_cast<size_t>(rows);
            if (act_.bytes() < bytes) act_.allocate(bytes, "quantized activations");
            cuda::quantize_activations(w.type, x, rows, w.cols, act_.get(), stream_);
            launched("quantize_activations");
            act = act_.get();
        }
        cuda::matmul_quantized(w.type, w.data, w.rows, w.cols, act, rows, y, stream_);
        launched("matmul");
    }

    void add_bias(float* y, const Weight& bias, int64_t rows, int64_t cols) override {
        cuda::add_bias(y, static_cast<const float*>(bias.data), rows, cols, stream_);
        launched("add_bias");
    }

    void rope(float* x, const int32_t* positions, int64_t rows, int64_t heads, int64_t head_dim, float theta,
              RopeStyle style) override {
        const auto* d_pos = static_cast<const int32_t*>(positions_.upload(positions, rows * sizeof(int32_t), stream_));
        cuda::rope(x, d_pos, rows, heads, head_dim, inv_freq(theta, head_dim), style == RopeStyle::neox, stream_);
        launched("rope");
    }

    void attention(int layer, const float* q, const float* k, const float* v, const int32_t* positions,
                   std::span<const SeqSlice> seqs, const AttentionShape& shape, float* out) override {
        int64_t rows = 0;
        for (const SeqSlice& s : seqs) rows = std::max(rows, s.first + s.count);
        // Row table: each row's cache (k base, v base, capacity).
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
                row_cap_[static_cast<size_t>(r)] = static_cast<int32_t>(cache.capacity());
            }
        }
        cuda::KVRows kv{static_cast<void* const*>(row_k_stage_.upload(row_k_.data(), rows * sizeof(void*), stream_)),
                        static_cast<void* const*>(row_v_stage_.upload(row_v_.data(), rows * sizeof(void*), stream_)),
                        static_cast<const int32_t*>(row_cap_stage_.upload(row_cap_.data(), rows * sizeof(int32_t), stream_)),
                        f16};
        const auto* d_pos = static_cast<const int32_t*>(positions_.upload(positions, rows * sizeof(int32_t), stream_));
        const int64_t kv_dim = shape.kv_heads * shape.head_dim;
        cuda::kv_store(kv, layer, k, v, d_pos, rows, kv_dim, stream_);
        launched("kv_store");
        cuda::attention(kv, layer, q, d_pos, rows, shape.heads, shape.kv_heads, shape.head_dim,
                        1.0f / std::sqrt(static_cast<float>(shape.head_dim)), out, stream_);
        launched("attention");
    }

    void swiglu(const float* gate, const float* up, int64_t n, float* y) override {
        cuda::swiglu(gate, up, n, y, stream_);
        launched("swiglu");
    }

    void add(float* y, const float* x, int64_t n) override {
        cuda::add(y, x, n, stream_);
        launched("add");
    }

    void gather_rows(const float* src, const int32_t* rows, int64_t count, int64_t cols, float* dst) override {
        const auto* d_rows = static_cast<const int32_t*>(gather_.upload(rows, count * sizeof(int32_t), stream_));
        cuda::gather_rows(src, d_rows, count, cols, dst, stream_);
        launched("gather_rows");
    }

    void to_host(const float* src, int64_t n, float* dst) override {
        check(cudaMemcpyAsync(dst, src, static_cast<size_t>(n) * sizeof(float), cudaMemcpyDeviceToHost, stream_),
              "copy to host");
        check(cudaStreamSynchronize(stream_), "the forward pass");
    }

    bool host_memory() const override { return false; }

private:
    // Launch errors (bad configuration) show at once; faults show at the next sync.
    static void launched(const char* op) { check(cudaGetLastError(), op); }

    const float* inv_freq(float theta, int64_t head_dim) {
        if (theta != rope_theta_ || head_dim != rope_dim_) {
            // 1 / theta^(2i/d) in f32, as the CPU backend computes it.
            std::vector<float> inv(static_cast<size_t>(head_dim / 2));
            for (int64_t i = 0; i < head_dim / 2; ++i)
                inv[static_cast<size_t>(i)] = 1.0f / std::pow(theta, static_cast<float>(2 * i) / static_cast<float>(head_dim));
            rope_table_.allocate(inv.size() * sizeof(float), "the rope table");
            check(cudaMemcpy(rope_table_.get(), inv.data(), inv.size() * sizeof(float), cudaMemcpyHostToDevice),
                  "rope table upload");
            rope_theta_ = theta;
            rope_dim_ = head_dim;
        }
        return static_cast<const float*>(rope_table_.get());
    }

    cudaStream_t stream_ = nullptr;
    std::deque<DeviceMemory> weights_;
    size_t weight_bytes_ = 0;
    DeviceMemory act_, rope_table_;
    float rope_theta_ = 0.0f;
    int64_t rope_dim_ = 0;
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

std::unique_ptr<Backend> make_cuda_backend(const ModelFile& file) {
    std::string why;
    if (!cuda_available(&why)) fail(ErrorCode::unsupported, "{}: CUDA was asked for but {}", file.path().string(), why);
    check(cudaSetDevice(0), "cudaSetDevice");
    size_t needed = 0;
    for (const TensorView& t : file.tensors()) needed += t.nbytes;
    size_t free = 0, total = 0;
    check(cudaMemGetInfo(&free, &total), "cudaMemGetInfo");
    cudaDeviceProp prop{};
    cudaGetDeviceProperties(&prop, 0);
    if (needed > free)
        fail(ErrorCode::out_of_memory, "{}: the weights need {:.1f} MiB on {} but only {:.1f} MiB of {:.1f} MiB are free",
             file.path().string(), needed / kMiB, prop.name, free / kMiB, total / kMiB);
    return std::make_unique<CudaBackend>();
}

}  // namespace apr::model
