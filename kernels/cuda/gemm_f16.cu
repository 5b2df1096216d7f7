// Prompt-sized products on tensor cores without cuBLAS: Y (+)= X W^T with X
// (rows x k) and W (n x k) both f16 and k-contiguous, f32 accumulation
// (mma.sync m16n8k16), tiles of BM rows of X by 128 rows of W, 32 values of
// k per stage, two stages in shared memory filled by cp.async. It exists so
// the backend need not hold a cuBLAS handle (its workspace and the memory it
// takes at creation count against the model's GPU memory); the backend picks
// it or cuBLAS (APR_CUDA_GEMM, see cuda_backend.cpp) by measurement.
#include <cuda_fp16.h>

#include <cstdint>
#include <stdexcept>

#include "cuda/cp_async.cuh"
#include "cuda/kernels.hpp"

namespace apr::cuda {
namespace {

constexpr int kBN = 128, kBK = 32, kLds = kBK + 8;  // +8 halves a row: ldmatrix rows fall in distinct banks
constexpr int kThreads = 256;

__device__ __forceinline__ void ldmatrix_x4(unsigned& r0, unsigned& r1, unsigned& r2, unsigned& r3, const void* smem) {
    const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(smem));
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
                 : "r"(s));
}
__device__ __forceinline__ void mma_16816(float* c, const unsigned* a, const unsigned* b) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// Eight warps, 2 along X's rows by 4 along W's: each warp owns BM/2 x 32 of Y.
template <int BM>
__global__ void __launch_bounds__(kThreads) gemm_f16_kernel(const __half* __restrict__ x, int64_t ldx,
                                                            const __half* __restrict__ w, int64_t ldw, int rows, int n,
                                                            int k, float* __restrict__ y, int64_t ldy, bool accumulate) {
    constexpr int MI = BM / 32;  // m16 tiles per warp
    __shared__ __align__(16) __half sa[2][BM * kLds];
    __shared__ __align__(16) __half sb[2][kBN * kLds];
    const int tid = static_cast<int>(threadIdx.x), warp = tid / 32, lane = tid % 32;
    const int m0 = static_cast<int>(blockIdx.y) * BM, n0 = static_cast<int>(blockIdx.x) * kBN;
    const int wm = (warp / 4) * (BM / 2), wn = (warp % 4) * 32;

    // A stage: BM (or 128) rows of 32 halves = 4 chunks of 16 bytes a row.
    auto load = [&](int stage, int k0) {
        for (int c = tid; c < BM * 4; c += kThreads) {
            const int row = c / 4, col = (c % 4) * 8, gr = m0 + row;
            // Rows past the end: 0 bytes read, the 16 zero-filled.
            cp_async16(&sa[stage][row * kLds + col], x + static_cast<int64_t>(gr < rows ? gr : 0) * ldx + k0 + col,
                       gr < rows ? 16 : 0);
        }
        for (int c = tid; c < kBN * 4; c += kThreads) {
            const int row = c / 4, col = (c % 4) * 8, gn = n0 + row;
            cp_async16(&sb[stage][row * kLds + col], w + static_cast<int64_t>(gn < n ? gn : 0) * ldw + k0 + col,
                       gn < n ? 16 : 0);
        }
        cp_async_commit();
    };

    float acc[MI][4][4];
#pragma unroll
    for (int i = 0; i < MI; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j)
#pragma unroll
            for (int e = 0; e < 4; ++e) acc[i][j][e] = 0.0f;

    const int steps = k / kBK;
    load(0, 0);
    for (int s = 0; s < steps; ++s) {
        if (s + 1 < steps) {
            load((s + 1) & 1, (s + 1) * kBK);  // that stage was last read before the previous barrier
            cp_async_wait<1>();
        } else {
            cp_async_wait<0>();
        }
        __syncthreads();
        const __half* A = sa[s & 1];
        const __half* B = sb[s & 1];
#pragma unroll
        for (int kk = 0; kk < kBK; kk += 16) {
            unsigned af[MI][4], bf[4][2];
#pragma unroll
            for (int i = 0; i < MI; ++i) {
                const int r = wm + i * 16 + (lane % 8) + 8 * ((lane / 8) % 2), c = kk + 8 * (lane / 16);
                ldmatrix_x4(af[i][0], af[i][1], af[i][2], af[i][3], &A[r * kLds + c]);
            }
#pragma unroll
            for (int j = 0; j < 2; ++j) {
                const int r = wn + j * 16 + (lane % 8) + 8 * (lane / 16), c = kk + 8 * ((lane / 8) % 2);
                ldmatrix_x4(bf[2 * j][0], bf[2 * j][1], bf[2 * j + 1][0], bf[2 * j + 1][1], &B[r * kLds + c]);
            }
#pragma unroll
            for (int i = 0; i < MI; ++i)
#pragma unroll
                for (int j = 0; j < 4; ++j) mma_16816(acc[i][j], af[i], bf[j]);
        }
        __syncthreads();
    }

    // Accumulator (i, j): Y rows m0 + wm + 16i + g (+8), columns n0 + wn + 8j + 2t (+1).
    const int g = lane / 4, t = lane % 4;
#pragma unroll
    for (int i = 0; i < MI; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j)
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                const int r = m0 + wm + i * 16 + g + 8 * h, o = n0 + wn + j * 8 + 2 * t;
                if (r >= rows) continue;
                float* p = y + static_cast<int64_t>(r) * ldy + o;
                if (o < n) p[0] = accumulate ? p[0] + acc[i][j][2 * h] : acc[i][j][2 * h];
                if (o + 1 < n) p[1] = accumulate ? p[1] + acc[i][j][2 * h + 1] : acc[i][j][2 * h + 1];
            }
}

}  // namespace

bool gemm_f16_supported(int64_t k, int64_t ldx, int64_t ldw) { return k % kBK == 0 && ldx % 8 == 0 && ldw % 8 == 0; }

void gemm_f16(const uint16_t* x, int64_t ldx, const uint16_t* w, int64_t ldw, int64_t rows, int64_t n, int64_t k,
              float* y, int64_t ldy, bool accumulate, Stream s) {
    if (rows == 0 || n == 0) return;
    if (!gemm_f16_supported(k, ldx, ldw)) throw std::invalid_argument("apr::cuda::gemm_f16: k and strides must be multiples of 32 and 8");
    const auto* xh = reinterpret_cast<const __half*>(x);
    const auto* wh = reinterpret_cast<const __half*>(w);
    const unsigned gn = static_cast<unsigned>((n + kBN - 1) / kBN);
    // Narrow outputs (n = hidden size) give few 128-row tiles of X: halve them
    // so the grid covers the card.
    if (gn * static_cast<unsigned>((rows + 127) / 128) < 132) {
        const dim3 grid(gn, static_cast<unsigned>((rows + 63) / 64));
        gemm_f16_kernel<64><<<grid, kThreads, 0, s>>>(xh, ldx, wh, ldw, static_cast<int>(rows), static_cast<int>(n),
                                                      static_cast<int>(k), y, ldy, accumulate);
    } else {
        const dim3 grid(gn, static_cast<unsigned>((rows + 127) / 128));
        gemm_f16_kernel<128><<<grid, kThreads, 0, s>>>(xh, ldx, wh, ldw, static_cast<int>(rows), static_cast<int>(n),
                                                       static_cast<int>(k), y, ldy, accumulate);
    }
}

}  // namespace apr::cuda
