// The compute backend interface the model code is written against. The
// forward pass (transformer.cpp) only calls these ops, so a CUDA backend
// plugs in by implementing this class; weights are bound to a backend once at
// load, activations live in buffers the backend allocates.
//
// Layout conventions: activations are row-major `rows x cols` f32 matrices,
// one row per token of the batch. A linear layer's weight is {out, in}, rows
// contiguous (as in every model file), so matmul computes
//   y[r][o] = sum_i x[r][i] * W[o][i].
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "apr/dtype.hpp"
#include "apr/session.hpp"
#include "apr/tensor.hpp"
#include "model/kv_layout.hpp"

namespace apr::model {

// A weight as the backend sees it. On the CPU, `data` points into the file
// mapping (zero copy) or, for the small vectors the backend wants as f32
// (norm weights, biases), into a converted copy the backend owns.
struct Weight {
    std::string_view name;  // canonical tensor name, for errors and observers
    DType type = DType::F32;
    const void* data = nullptr;
    int64_t rows = 0;  // 1 for vectors
    int64_t cols = 0;
    // CPU: `data` is the backend's repacked copy (kernels/cpu/repack.hpp),
    // not the file's layout; only the backend's own ops may read it.
    bool repacked = false;
    explicit operator bool() const { return data != nullptr; }
};

// Backend memory holding f32 activations.
class Buffer {
public:
    virtual ~Buffer() = default;
    virtual float* data() = 0;
};

// Keys and values of one sequence for every layer, paged: a table of blocks
// of positions (see kv_layout.hpp for the layout every backend shares).
// Blocks are taken from the backend's pool as positions fill and given back
// when the sequence shrinks, so memory follows the positions held.
class KVCache {
public:
    virtual ~KVCache() = default;
    // Most positions the sequence may hold (the session's context length).
    virtual int64_t capacity() const = 0;
    virtual const KVLayout& layout() const = 0;
    KVCacheType type() const { return layout().type; }
    // Holds blocks for exactly the positions [0, positions): takes missing
    // blocks from the pool, gives back those past the end. On failure
    // (apr::Error out_of_memory) the cache is as before.
    virtual void resize(int64_t positions) = 0;
    // Positions the held blocks cover (a multiple of the block length).
    virtual int64_t held_positions() const = 0;
    // Bytes of backend memory the held blocks take.
    virtual int64_t bytes() const = 0;
    // Makes this cache hold positions [0, positions) of `src` (a cache of the
    // same backend and layout): the keys and values are copied, not
    // recomputed (they depend only on the tokens up to each position, so
    // they are the same bits). Returns false, changing nothing, where the
    // backend cannot copy (the default: GPU and split caches evaluate instead).
    virtual bool copy_prefix_from(const KVCache& src, int64_t positions) {
        (void)src;
        (void)positions;
        return false;
    }
};

// The rows [first, first + count) of a batch belong to one sequence whose
// keys and values live in `cache`. A batch may mix sequences (continuous
// batching); each row has its own position.
struct SeqSlice {
    KVCache* cache;
    int64_t first;
    int64_t count;
};

// How rotary embedding pairs a head's values: NEOX pairs (i, i + d/2), as
// Hugging Face's rotate_half and Qwen2 GGUFs do; normal pairs (2i, 2i + 1),
// as llama.cpp's Llama GGUFs do (their converter permutes q/k rows to match).
enum class RopeStyle { neox, normal };

struct AttentionShape {
    int64_t heads;
    int64_t kv_heads;
    int64_t head_dim;
};

// Times ops for observers (only when one is attached). mark() is called
// right before an op is issued and right after it; ms(from, to) is the time
// between two of the timer's marks, in milliseconds. The CPU's timer reads
// the host clock (its ops are synchronous, so a time is known at once). A
// device backend's timer records an event on its stream at each mark and
// says deferred(): ms() then waits for the later mark's event, so the forward
// pass asks for its ops' times only at its end, and meanwhile the device runs
// the pass's ops back to back, as it does untraced (waiting after every op
// would add each launch's latency to the op after it). Marks are valid for
// the timer's life.
class OpTimer {
public:
    using Mark = size_t;
    virtual ~OpTimer() = default;
    virtual Mark mark() = 0;
    virtual double ms(Mark from, Mark to) = 0;
    virtual bool deferred() const { return false; }
};

// A forward pass announced to the backend before its ops (see
// Backend::begin_batch). The spans are the same host arrays the ops are then
// given (ids to get_rows, positions to rope/attention, logit rows to
// gather_rows); `buffers` are the pass's activation buffers, so a recording
// of the ops can tell whether it still applies.
struct BatchInfo {
    std::span<const int32_t> tokens;
    std::span<const int32_t> positions;
    std::span<const SeqSlice> seqs;
    std::span<const int32_t> logit_rows;
    std::span<const float* const> buffers;
    bool may_record = true;  // false while an observer reads the ops' outputs
};

// True when `rows` is 0, 1, ..., n - 1: every row of an n-row pass in order
// (decode steps), so the LM head needs no gather_rows (transformer.cpp),
// and a recorded step then has none.
inline bool every_row_in_order(std::span<const int32_t> rows, int64_t n) {
    if (static_cast<int64_t>(rows.size()) != n) return false;
    for (size_t i = 0; i < rows.size(); ++i)
        if (rows[i] != static_cast<int32_t>(i)) return false;
    return true;
}

// One product of a group sharing an input: y = x W^T (+ bias).
struct LinearJob {
    const Weight* w;
    const Weight* bias;  // null: none
    float* y;
};

class Backend {
public:
    virtual ~Backend() = default;
    virtual std::string_view name() const = 0;
    // Worker threads the backend computes with (CPU: its task arena's size).
    virtual int threads() const = 0;

    // Makes a tensor usable by the ops. `as_f32` asks for an f32 copy (small
    // vectors only: norms, biases); otherwise the weight keeps its type.
    virtual Weight bind(const TensorView& tensor, bool as_f32) = 0;
    // The embedding table; `lm_head` when it is also the LM head (tied
    // embeddings), so every step multiplies all of it, not just a few rows.
    virtual Weight bind_embedding(const TensorView& tensor, bool lm_head) {
        (void)lm_head;
        return bind(tensor, false);
    }
    virtual bool supports_matmul(DType type) const = 0;

    virtual std::unique_ptr<Buffer> alloc(int64_t floats) = 0;
    // An empty cache (no blocks held) for up to `capacity` positions. Throws
    // apr::Error(unsupported) for a layout the backend cannot hold.
    virtual std::unique_ptr<KVCache> make_kv_cache(const KVLayout& layout, int64_t capacity) = 0;

    // y[r] = table[ids[r]] (ids already validated against table.rows).
    virtual void get_rows(const Weight& table, const int32_t* ids, int64_t rows, float* y) = 0;
    // y[r] = x[r] / sqrt(mean(x[r]^2) + eps) * weight (weight is f32).
    virtual void rmsnorm(const float* x, const Weight& weight, float eps, int64_t rows, int64_t cols, float* y) = 0;
    // y = x W^T, x: rows x w.cols, y: rows x w.rows.
    virtual void matmul(const Weight& w, const float* x, int64_t rows, float* y) = 0;
    // y[r] += bias (bias is f32, cols values).
    virtual void add_bias(float* y, const Weight& bias, int64_t rows, int64_t cols) = 0;
    // Rotary embedding in place: each head's pair i rotates by
    // position * theta^(-2i/head_dim).
    virtual void rope(float* x, const int32_t* positions, int64_t rows, int64_t heads, int64_t head_dim,
                      float theta, RopeStyle style) = 0;
    // Stores k and v (rows x kv_dim) at their positions in each sequence's
    // cache for `layer`, then computes causal grouped-query attention of q
    // (rows x heads*head_dim) over positions 0..position of its sequence.
    // Each cache already holds blocks for every position it is given.
    virtual void attention(int layer, const float* q, const float* k, const float* v, const int32_t* positions,
                           std::span<const SeqSlice> seqs, const AttentionShape& shape, float* out) = 0;
    // y = silu(gate) * up, n values.
    virtual void swiglu(const float* gate, const float* up, int64_t n, float* y) = 0;
    // y += x, n values.
    virtual void add(float* y, const float* x, int64_t n) = 0;
    // dst[i] = src[rows[i]] for whole rows of `cols` floats (backend memory).
    virtual void gather_rows(const float* src, const int32_t* rows, int64_t count, int64_t cols, float* dst) = 0;
    // Copies n floats of backend memory to host memory.
    virtual void to_host(const float* src, int64_t n, float* dst) = 0;
    // Copies n floats of host memory into backend memory (the hidden state
    // arriving from the previous stage of a split model). The default
    // copies within host memory; a device backend overrides it.
    virtual void from_host(const float* src, int64_t n, float* dst);
    // ids[r] = the index of the largest of row r's n values (backend
    // memory), the first on ties, as a greedy Sampler picks; ids is host
    // memory. The default reads the rows on the host (to_host first when
    // buffers are device memory); a GPU reduces on the device, so only the
    // ids cross.
    virtual void argmax_to_host(const float* x, int64_t rows, int64_t n, int32_t* ids);
    // Whether buffers are host memory (observers may then read them directly).
    virtual bool host_memory() const = 0;

    // ---- tracing (used only when an observer is attached) ----
    // A timer for ops; the default reads the host clock.
    virtual std::unique_ptr<OpTimer> make_op_timer();
    // The kernel that runs `op` on a weight of `type` (matmul, lm_head;
    // F32 for the other ops), e.g. "avx512 Q4_K x Q8_K". Static storage.
    virtual std::string_view kernel_name(OpKind op, DType type) const { (void)op, (void)type; return name(); }
    // The backend in words for load reports: CPU: SIMD level and threads; a
    // GPU: its name and memory.
    virtual std::string description() const { return std::string(name()); }

    // Fused ops. forward() uses them when no observer watches the single
    // ops (an observer sees every op's own output, so it gets the plain
    // sequence). The defaults compose the single ops, so a backend only
    // overrides what it can do in fewer passes (the CUDA backend: one kernel
    // each). Results equal the composition's.
    //
    // y_i = x W_i^T (+ bias_i) for products sharing one input (q, k, v).
    virtual void matmul_group(std::span<const LinearJob> jobs, const float* x, int64_t rows) {
        for (const LinearJob& j : jobs) {
            matmul(*j.w, x, rows, j.y);
            if (j.bias != nullptr && *j.bias) add_bias(j.y, *j.bias, rows, j.w->rows);
        }
    }
    // y += x W^T (the residual add); tmp: rows x w.rows scratch.
    virtual void matmul_add(const Weight& w, const float* x, int64_t rows, float* y, float* tmp) {
        matmul(w, x, rows, tmp);
        add(y, tmp, rows * w.rows);
    }
    // out = silu(x Wg^T) * (x Wu^T); up_tmp: rows x up.rows scratch.
    virtual void matmul_swiglu(const Weight& gate, const Weight& up, const float* x, int64_t rows, float* out,
                               float* up_tmp) {
        matmul(gate, x, rows, out);
        matmul(up, x, rows, up_tmp);
        swiglu(out, up_tmp, rows * gate.rows, out);
    }
    // Rotary embedding of the queries and keys of a batch.
    virtual void rope_qk(float* q, float* k, const int32_t* positions, int64_t rows, const AttentionShape& shape,
                         float theta, RopeStyle style) {
        rope(q, positions, rows, shape.heads, shape.head_dim, theta, style);
        rope(k, positions, rows, shape.kv_heads, shape.head_dim, theta, style);
    }

    // Whole-step execution. forward() calls begin_batch first; a device
    // backend copies the batch's arrays to its memory there in one transfer
    // (the ops' host pointers then name those copies). If begin_batch
    // returns true, the backend has already run the whole step (every op up
    // to the last LM-head matmul) from a recording of an earlier batch of
    // the same shape, and forward() skips straight to to_host; otherwise the
    // ops follow and end_step() closes them (a CUDA backend records them as
    // a graph there and launches it). The CPU runs ops as they come.
    virtual bool begin_batch(const BatchInfo&) { return false; }
    virtual void end_step() {}
};

}  // namespace apr::model
