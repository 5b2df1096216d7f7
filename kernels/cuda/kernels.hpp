// Host entry points of the CUDA kernels (kernels/cuda/*.cu, built by nvcc).
// Plain C++ with no CUDA headers, so the backend (lib/model/cuda_backend.cpp,
// built by g++) and the tests call them directly. Every pointer argument is
// device memory unless its comment says otherwise; every launch goes on the
// given stream and returns at once (errors surface through cudaGetLastError
// and the stream, which the caller checks).
//
// Numerics mirror the CPU kernels (kernels/cpu): activations are quantized
// into the format the weight's dot product pairs with (Q8_K for K-quants,
// Q8_0 for Q8_0/Q4_0/Q5_0, Q8_1 for Q4_1/Q5_1, f32 for float weights), byte
// for byte what the CPU quantizers write, and the integer sums of each block
// are exact, so GPU and CPU results differ only by float summation order.
#pragma once

#include <cstddef>
#include <cstdint>

#include "apr/dtype.hpp"

struct CUstream_st;

namespace apr::cuda {

using Stream = CUstream_st*;  // == cudaStream_t

// ---- matrix products (matmul.cu) -------------------------------------------
// Weight types the products handle: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1,
// Q8_0, Q4_K, Q5_K, Q6_K.
bool matmul_supported(DType weight) noexcept;
// Bytes of one activation row of k values for weights of type `weight`
// (k * 4 for float weights). k must be a whole number of blocks.
size_t activation_row_bytes(DType weight, int64_t k);
// rows x k f32 -> rows activation rows (activation_row_bytes each). For
// float weights this copies the floats.
void quantize_activations(DType weight, const float* x, int64_t rows, int64_t k, void* act, Stream stream);
// y[r][o] = dot(weight row o, activation row r); weight is n rows of k values
// in its stored layout (rows contiguous), y is rows x n f32.
void matmul_quantized(DType weight, const void* w, int64_t n, int64_t k, const void* act, int64_t rows, float* y,
                      Stream stream);

// Fused decode-sized products (rows <= 8, matmul.cu). Up to kMaxGroup
// weights of one type and inner size k read one activation: output row o of
// job j is y_j[r][o] = dot + bias_j[o], or y_j[r][o] += that when accumulate.
constexpr int kMaxGroup = 3;
struct MatmulJob {
    const void* w;
    int64_t n;
    const float* bias;  // null: none
    float* y;
};
void matmul_group(DType weight, const MatmulJob* jobs, int count, int64_t k, const void* act, int64_t rows,
                  bool accumulate, Stream stream);
// out[r][o] = silu(dot(gate row o)) * dot(up row o); gate and up of one type.
void matmul_swiglu(DType weight, const void* gate, const void* up, int64_t n, int64_t k, const void* act, int64_t rows,
                   float* out, Stream stream);

// Products of 1 to kMatvecRows activation rows (decode, matvec.cu) for
// Q4_K and Q6_K weights, streaming the weights: the kernel quantizes the f32
// input x (rows x k) itself, after an RMSNorm when norm_w is set (each row /
// its rms * norm_w with eps, the normalized rows also written to norm_y when
// that is set; norm_y must not alias x), exactly as rmsnorm_quantize /
// quantize_activations would, so no separate kernel runs before it. A row's
// results do not depend on how many rows come with it (the same sums in the
// same order), and equal matmul_group / matmul_swiglu's up to f32
// summation order. APR_CUDA_PDL=1 launches them with programmatic dependent
// launch (weights read before the previous kernel's results are waited for).
constexpr int kMatvecRows = 8;
struct MatvecInput {
    const float* x;
    const float* norm_w = nullptr;
    float eps = 0.0f;
    float* norm_y = nullptr;
    // x already quantized by quantize_activations (Q8_K rows), used instead
    // of quantizing x in the product (then norm_w must be null): the same
    // bytes, so the same results.
    const void* xq = nullptr;
};
// Rows this long (k) are better quantized once before the product (xq) than
// by every block of it: ffn_down's 8960 values cost each block more than
// its share of the weights.
bool matvec_prefers_quantized(int64_t k) noexcept;
// Q4_K or Q6_K, k a multiple of 256, rows * k / 256 * 304 bytes within 200 KiB.
bool matvec_supported(DType weight, int64_t k, int64_t rows) noexcept;
// Up to kMaxGroup weights (types[i] each, mixed Q4_K / Q6_K allowed) of
// inner size k: y_j[r][o] = dot + bias_j[o], or y_j[r][o] += that when
// accumulate (y_j rows x n_j).
void matvec(const MatmulJob* jobs, const DType* types, int count, int64_t k, int64_t rows, const MatvecInput& in,
            bool accumulate, Stream stream);
// out[r][o] = silu(dot(gate row o)) * dot(up row o).
void matvec_swiglu(DType weight, const void* gate, const void* up, int64_t n, int64_t k, int64_t rows,
                   const MatvecInput& in, float* out, Stream stream);

// Products of any number of activation rows (decode batches past
// kMatvecRows, mmq.cu) for Q4_K and Q6_K weights on int8 tensor cores,
// from the stored blocks: act holds the rows quantized to Q8_K
// (quantize_activations / rmsnorm_quantize). Jobs, bias and accumulate as
// for matmul_group (up to kMaxGroup weights of one type and inner size k).
// A row's results do not depend on the rows beside it or on how many come
// (bit for bit the row alone through mmq), and equal matmul_group's and
// matvec's up to f32 summation order.
// Weights with few tiles of rows (1,536 outputs) split k into parts that
// the last part of each tile to finish adds in order; they need `scratch`: at least
// mmq_scratch_bytes(jobs, count, k, rows) bytes (0: no job splits), zeroed
// once when allocated (the kernels leave its counters so), one launch at a
// time. The parts follow from each weight's shape and the card alone, so
// the bit-for-bit promise above holds (past 16,384 tiles of rows and
// activation rows a launch does not split; APR_CUDA_MMQ_SPLIT=N: about N
// blocks a multiprocessor, 0: no split). A weight of n rows is supported
// while it is under 2 GiB (the kernel's offsets are 32-bit).
bool mmq_supported(DType weight, int64_t k, int64_t n) noexcept;
size_t mmq_scratch_bytes(const MatmulJob* jobs, int count, int64_t k, int64_t rows);
void mmq(DType weight, const MatmulJob* jobs, int count, int64_t k, const void* act, int64_t rows, bool accumulate,
         Stream stream, void* scratch = nullptr, size_t scratch_bytes = 0);
// out[r][o] = silu(dot(gate row o)) * dot(up row o), as matvec_swiglu.
void mmq_swiglu(DType weight, const void* gate, const void* up, int64_t n, int64_t k, const void* act, int64_t rows,
                float* out, Stream stream);

// ---- element-wise and row ops (ops.cu) ---------------------------------------
// y[r] = dequantize(table row ids[r]), table rows of `cols` values of `type`.
void get_rows(DType type, const void* table, int64_t cols, const int32_t* ids, int64_t rows, float* y,
              Stream stream);
// y = x / sqrt(mean(x^2) + eps) * w per row (y may alias x).
void rmsnorm(const float* x, const float* w, float eps, int64_t rows, int64_t cols, float* y, Stream stream);
void add_bias(float* y, const float* bias, int64_t rows, int64_t cols, Stream stream);
// In place; inv_freq holds head_dim/2 values (1 / theta^(2i/d), computed on the host as the CPU does).
void rope(float* x, const int32_t* positions, int64_t rows, int64_t heads, int64_t head_dim, const float* inv_freq,
          bool neox, Stream stream);
// rope of q (heads) and k (kv_heads) in one launch.
void rope_qk(float* q, float* k, const int32_t* positions, int64_t rows, int64_t heads, int64_t kv_heads,
             int64_t head_dim, const float* inv_freq, bool neox, Stream stream);
// rmsnorm as above, and its output rows quantized for weights of type
// `weight` into act (activation_row_bytes each), in one pass.
void rmsnorm_quantize(const float* x, const float* w, float eps, int64_t rows, int64_t cols, float* y, DType weight,
                      void* act, Stream stream);
void swiglu(const float* gate, const float* up, int64_t n, float* y, Stream stream);
void add(float* y, const float* x, int64_t n, Stream stream);
void gather_rows(const float* src, const int32_t* rows, int64_t count, int64_t cols, float* dst, Stream stream);
// out[r] = index of the largest of row r's n values (the first on ties;
// NaN never wins). scratch: argmax_scratch_bytes(rows) of device memory
// zeroed once before the first use (its counters return to zero).
size_t argmax_scratch_bytes(int64_t rows);
void argmax_rows(const float* x, int64_t rows, int64_t n, int32_t* out, void* scratch, int64_t scratch_rows, Stream stream);

// ---- attention (attention.cu) ------------------------------------------------
// Where each batch row's sequence keeps its keys and values: element
// (layer, pos, i) of K is k_base[row] + (layer * capacity[row] + pos) * kv_dim + i
// (likewise V), in f16 (half bits) or f32.
struct KVRows {
    void* const* k_base;    // per row (device array of device pointers)
    void* const* v_base;
    const int32_t* capacity;  // per row
    bool f16;
};
// Writes k and v (rows x kv_dim) at each row's position of `layer`.
void kv_store(const KVRows& kv, int layer, const float* k, const float* v, const int32_t* positions, int64_t rows,
              int64_t kv_dim, Stream stream);
// Causal grouped-query attention: row r's query heads attend over positions
// 0..positions[r] of its sequence. q, out: rows x heads*head_dim. With an f16
// cache the query is rounded to f16 first, as the CPU does.
void attention(const KVRows& kv, int layer, const float* q, const int32_t* positions, int64_t rows, int64_t heads,
               int64_t kv_heads, int64_t head_dim, float scale, float* out, Stream stream);

// rope_qk then kv_store in one kernel: q and k roped in place as rope_qk
// leaves them, the roped k and v stored at each row's position as kv_store
// stores them, bit for bit.
void rope_qk_store(const KVRows& kv, int layer, float* q, float* k, const float* v, const int32_t* positions,
                   int64_t rows, int64_t heads, int64_t kv_heads, int64_t head_dim, const float* inv_freq, bool neox,
                   Stream stream);

// Decode attention, for batches whose rows are each their own sequence at
// one position: ropes q and k (inv_freq as for rope_qk; null: k and q are
// used as given), stores each row's k and v in its cache at its position,
// and attends over the cache split in chunks across blocks (the chunks'
// partial softmax sums merged by a second kernel, or by the last block of
// each head for head sizes the grouped kernel does not take). q, k,
// v, out as for kv_store and attention; the results equal rope_qk, kv_store
// and attention's up to f32 summation order, the stored keys and values bit
// for bit. max_capacity: the largest kv.capacity of the rows (it sets the
// grid). scratch: attention_decode_scratch_bytes of device memory whose
// first bytes were zeroed once (its counters return to zero after each
// launch).
size_t attention_decode_scratch_bytes(int64_t rows, int64_t heads, int64_t head_dim, int64_t max_capacity);
bool attention_decode_supported(int64_t head_dim);
void attention_decode(const KVRows& kv, int layer, const float* q, const float* k, const float* v,
                      const int32_t* positions, int64_t rows, int64_t heads, int64_t kv_heads, int64_t head_dim,
                      float scale, const float* inv_freq, bool neox, int64_t max_capacity, void* scratch, float* out,
                      Stream stream);

// QKV of decode steps in one matvec (matvec.cu): q, k and v (MatmulJob
// each, with their biases; types Q4_K / Q6_K, mixed allowed) of the rows,
// then in the same kernel q and k roped at each row's position (rope_qk's
// arithmetic, inv_freq as there) and k and v stored in each row's cache at
// that position (kv_store's), so neither of those kernels runs. Needs rows
// that a unit takes two at a time (k <= 8 * 256) and an even head_dim.
struct MatvecRope {
    const int32_t* positions;
    const float* inv_freq;
    int64_t head_dim;
    bool neox;
    KVRows kv;
    int layer;
};
bool matvec_qkv_supported(DType q, DType k_type, DType v, int64_t k, int64_t rows, int64_t head_dim) noexcept;
void matvec_qkv(const MatmulJob* qkv, const DType* types, int64_t k, int64_t rows, const MatvecInput& in,
                const MatvecRope& rope, Stream stream);

}  // namespace apr::cuda

namespace apr::cuda {

// ---- prompt-sized products on tensor cores (ops.cu) -----------------------------
// Rows [row0, row0 + rows), columns [col0, col0 + cols) of a weight of
// `type` (k values a row) as f16, row-major with `cols` values a row.
void dequantize_f16(DType type, const void* w, int64_t k, int64_t row0, int64_t rows, int64_t col0, int64_t cols,
                    uint16_t* out, Stream stream);
// f32 -> f16, n values.
void to_f16(const float* x, int64_t n, uint16_t* out, Stream stream);
// Columns [col0, col0 + cols) of x (rows x k, f32) as f16, `cols` a row.
void to_f16_cols(const float* x, int64_t rows, int64_t k, int64_t col0, int64_t cols, uint16_t* out, Stream stream);
// Y (+)= X W^T on tensor cores (gemm_f16.cu): X rows x k and W n x k, both
// f16 with k contiguous (row strides ldx, ldw), Y rows x n f32 (row stride
// ldy), f32 accumulation; accumulate adds to Y. Needs k a multiple of 32 and
// strides multiples of 8 (gemm_f16_supported).
bool gemm_f16_supported(int64_t k, int64_t ldx, int64_t ldw);
void gemm_f16(const uint16_t* x, int64_t ldx, const uint16_t* w, int64_t ldw, int64_t rows, int64_t n, int64_t k,
              float* y, int64_t ldy, bool accumulate, Stream stream);

}  // namespace apr::cuda
