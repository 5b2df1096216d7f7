// GPU matrix-vector (decode) throughput of the CUDA kernels at
// Qwen2.5-1.5B shapes, against the card's copy bandwidth measured in the
// same run: for each weight type and shape, microseconds per product,
// weight bytes streamed per second, and that as a share of the copy rate.
//
//   bench_cuda_matvec [--reps N] [--kinds 0123]
//
// Kinds: 0 the product of matmul_impl.cuh on quantized activations; 1 the
// quantize kernel + that product (decode before matvec.cu); 2 matvec
// (streaming, quantizing inside); 3 matvec with the RMSNorm inside too.
// Launches follow each other on one stream, so matvec's programmatic
// dependent launch overlaps each with the last, as in a decode step.
//
// Weights rotate among enough copies (> 4x the L2) that every product reads
// from device memory; the inputs are random, never zeros.
#include <cuda_runtime.h>
#include <fmt/core.h>

#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "apr/dtype.hpp"
#include "cuda/kernels.hpp"
#include "quant/quantize.hpp"

namespace {

void ok(cudaError_t e, const char* what) {
    if (e != cudaSuccess) {
        fmt::print(stderr, "bench_cuda_matvec: {}: {}\n", what, cudaGetErrorString(e));
        std::exit(1);
    }
}

// Device-to-device copy of 2 GiB: bytes read + written per second.
double copy_gbps() {
    const size_t bytes = size_t{1} << 31;
    void *a, *b;
    ok(cudaMalloc(&a, bytes), "cudaMalloc");
    ok(cudaMalloc(&b, bytes), "cudaMalloc");
    ok(cudaMemset(a, 1, bytes), "cudaMemset");
    cudaEvent_t e0, e1;
    cudaEventCreate(&e0);
    cudaEventCreate(&e1);
    for (int i = 0; i < 3; ++i) cudaMemcpy(b, a, bytes, cudaMemcpyDeviceToDevice);
    cudaEventRecord(e0);
    const int reps = 10;
    for (int i = 0; i < reps; ++i) cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice);
    cudaEventRecord(e1);
    ok(cudaEventSynchronize(e1), "copy");
    float ms = 0;
    cudaEventElapsedTime(&ms, e0, e1);
    cudaFree(a);
    cudaFree(b);
    return 2.0 * bytes * reps / (ms * 1e-3) / 1e9;
}

struct Shape {
    const char* what;
    int64_t n, k;
};

}  // namespace

int main(int argc, char** argv) {
    int reps = 200;
    std::string only;  // --kinds 023: only those kinds (see below)
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::string(argv[i]) == "--reps") reps = std::max(1, std::atoi(argv[i + 1]));
        if (std::string(argv[i]) == "--kinds") only = argv[i + 1];
    }
    cudaDeviceProp prop{};
    ok(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
    const double peak = copy_gbps();
    fmt::print("device {}, L2 {} MiB; device-to-device copy {:.0f} GB/s (read + write)\n", prop.name,
               prop.l2CacheSize >> 20, peak);
    fmt::print("{:<6} {:<10} {:>7} {:>6} {:>10} {:>9} {:>7}\n", "type", "shape", "n", "k", "us", "GB/s", "share");
    const Shape shapes[] = {{"q", 1536, 1536}, {"kv", 256, 1536}, {"gate/up", 8960, 1536}, {"down", 1536, 8960},
                            {"lm_head", 151936, 1536}};
    std::mt19937 rng(7);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    for (apr::DType type : {apr::DType::Q4_K, apr::DType::Q6_K, apr::DType::Q8_0, apr::DType::Q4_0}) {
        for (const Shape& s : shapes) {
            const size_t wbytes = apr::dtype_bytes(type, s.n * s.k);
            const int copies = static_cast<int>(std::max<size_t>(2, (size_t{256} << 20) / wbytes + 1));
            // One random row quantized, repeated: the bytes are realistic, and
            // quantizing millions of rows on the host would dominate the run.
            std::vector<float> row(static_cast<size_t>(s.k));
            std::vector<std::byte> host(wbytes);
            const size_t row_bytes = apr::dtype_bytes(type, s.k);
            for (int64_t r = 0; r < std::min<int64_t>(s.n, 64); ++r) {
                for (float& v : row) v = dist(rng);
                apr::quant::quantize_row(type, row.data(), host.data() + r * row_bytes, s.k);
            }
            for (int64_t r = 64; r < s.n; ++r) std::memcpy(host.data() + r * row_bytes, host.data() + (r % 64) * row_bytes, row_bytes);
            std::vector<void*> w(static_cast<size_t>(copies));
            for (auto& p : w) {
                ok(cudaMalloc(&p, wbytes), "cudaMalloc");
                ok(cudaMemcpy(p, host.data(), wbytes, cudaMemcpyHostToDevice), "upload");
            }
            for (float& v : row) v = dist(rng);
            float *x, *y;
            void* act;
            ok(cudaMalloc(&x, s.k * 4), "cudaMalloc");
            ok(cudaMalloc(&y, s.n * 4), "cudaMalloc");
            ok(cudaMalloc(&act, apr::cuda::activation_row_bytes(type, s.k)), "cudaMalloc");
            ok(cudaMemcpy(x, row.data(), s.k * 4, cudaMemcpyHostToDevice), "upload");
            apr::cuda::quantize_activations(type, x, 1, s.k, act, nullptr);
            for (int i = 0; i < 10; ++i) apr::cuda::matmul_quantized(type, w[i % copies], s.n, s.k, act, 1, y, nullptr);
            cudaEvent_t e0, e1;
            cudaEventCreate(&e0);
            cudaEventCreate(&e1);
            // kind 0: the product of matmul_impl.cuh on quantized activations;
            // 1: quantize kernel + that product (what decode ran before
            // matvec); 2: matvec, quantizing inside; 3: matvec with the
            // RMSNorm inside too.
            const bool streams = apr::cuda::matvec_supported(type, s.k, 1);
            float* xn = nullptr;
            float* nw = nullptr;
            ok(cudaMalloc(&xn, s.k * 4), "cudaMalloc");
            ok(cudaMalloc(&nw, s.k * 4), "cudaMalloc");
            ok(cudaMemcpy(nw, row.data(), s.k * 4, cudaMemcpyHostToDevice), "upload");
            const char* kinds[] = {"product", "quantize+product", "matvec", "matvec+norm"};
            for (int kind = 0; kind < (streams ? 4 : 1); ++kind) {
                if (!only.empty() && only.find(std::to_string(kind)) == std::string::npos) continue;
                auto one = [&](int i) {
                    void* wi = w[static_cast<size_t>(i % copies)];
                    if (kind <= 1) {
                        if (kind == 1) apr::cuda::quantize_activations(type, x, 1, s.k, act, nullptr);
                        apr::cuda::matmul_quantized(type, wi, s.n, s.k, act, 1, y, nullptr);
                        return;
                    }
                    const apr::cuda::MatmulJob job{wi, s.n, nullptr, y};
                    apr::cuda::MatvecInput in{x};
                    if (kind == 3) in = {x, nw, 1e-6f, xn};
                    apr::cuda::matvec(&job, &type, 1, s.k, 1, in, false, nullptr);
                };
                for (int i = 0; i < 10; ++i) one(i);
                cudaEventRecord(e0);
                for (int i = 0; i < reps; ++i) one(i);
                cudaEventRecord(e1);
                ok(cudaEventSynchronize(e1), "matvec");
                ok(cudaGetLastError(), "matvec launch");
                float ms = 0;
                cudaEventElapsedTime(&ms, e0, e1);
                const double us = ms * 1e3 / reps;
                const double gbps = wbytes / (us * 1e-6) / 1e9;
                fmt::print("{:<6} {:<10} {:>7} {:>6} {:>10.2f} {:>9.0f} {:>6.0f}%  {}\n", apr::dtype_name(type), s.what, s.n,
                           s.k, us, gbps, 100.0 * gbps / peak, kinds[kind]);
            }
            cudaFree(xn);
            cudaFree(nw);
            for (auto p : w) cudaFree(p);
            cudaFree(x);
            cudaFree(y);
            cudaFree(act);
        }
    }
    return 0;
}
