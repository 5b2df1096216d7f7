// Tracing and profiling on top of apr::Observer (apr/model.hpp).
//
// A trace::Recorder is an Observer that keeps what a generation did: every
// forward pass (prompt batch or decode step) with its positions and time,
// every op with its weight type, kernel and time, sampling steps, and on
// request activation statistics and the top logits of each step. The
// report functions turn a recording into the text `apr run --trace` and its
// sibling modes print, or into Chrome trace JSON.
//
//   apr::trace::Recorder rec;                 // one per request / chat turn
//   session.set_observer(&rec);
//   auto result = apr::generate(session, prompt, params);
//   std::string table = apr::trace::format_layer_table(rec);
//   rec.clear();                              // ready for the next request
//
// A server keeps one Recorder per request (attach it to the request's
// session, or feed it the events of the batched steps the request took part
// in) and reads phase_ms / phase_tokens / layer_times for headers and logs.
// Names and kernels in the records are views that live as long as the Model.
//
// Thread-safety: a Recorder is used by the thread that runs its session.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "apr/export.hpp"
#include "apr/model.hpp"

namespace apr::trace {

// Statistics of a tensor: NaN and Inf values are counted and left out of the others.
struct TensorStats {
    int64_t count = 0;
    double min = 0, max = 0, mean = 0, std = 0;
    int64_t nan = 0, inf = 0, zeros = 0;
    bool all_zero() const { return count > 0 && zeros == count; }
    bool finite() const { return nan == 0 && inf == 0; }
};
APR_API TensorStats tensor_stats(const float* data, int64_t n);

struct OpRecord {
    OpKind op;
    int layer;
    std::string_view name;
    DType weight_type;
    int64_t weight_rows, weight_cols;
    std::string_view kernel;
    int64_t rows, cols;
    double start_ms;    // since the recording began
    double ms;
    int64_t attended;   // attention: key positions attended, summed over the rows (for FLOPs and bytes)
};

struct PassRecord {
    GenerationPhase phase;
    int64_t rows;
    int32_t first_position, last_position;
    double start_ms, ms;
    size_t first_op, op_count;  // the pass's ops: ops()[first_op, first_op + op_count)
    // With activation statistics: the last row's hidden state after the
    // embedding (index 0), after each block (1..layers), after the final norm.
    std::vector<TensorStats> layer_stats;
};

struct TopLogit {
    int32_t id;
    float logit;
};

struct SampleRecord {
    int64_t step;
    int32_t token;
    double start_ms, ms;
    std::vector<TopLogit> top;   // with top_logits > 0: the best logits, best first
    TensorStats logit_stats;     // with activation statistics
};

struct RecorderOptions {
    bool activation_stats = false;  // statistics of each layer's output (reads every activation: slower)
    int top_logits = 0;             // keep the top-k logits of each sampling step
};

// Per-layer time of a phase: for the prompt, summed over its passes; for
// decode, the mean per generated token.
struct LayerTiming {
    int layer;
    double attn_ms = 0;   // q/k/v/o projections, biases, rope, attention, residual add
    double ffn_ms = 0;    // gate, up, swiglu, down, residual add
    double norm_ms = 0;   // attention and FFN norms
    double total_ms() const { return attn_ms + ffn_ms + norm_ms; }
};

class APR_API Recorder : public Observer {
public:
    explicit Recorder(const RecorderOptions& options = {});

    void on_op(const OpEvent& e) override;
    void on_layer(const LayerEvent& e) override;
    void on_batch_begin(const BatchEvent& e) override;
    void on_batch_end(const BatchEvent& e) override;
    void on_phase(GenerationPhase phase) override;
    void on_tokenize(const TokenizeEvent& e) override;
    void on_sample(const SampleEvent& e) override;
    bool wants_outputs() const override { return options_.activation_stats; }

    // Forgets everything recorded (keeps the options); the clock restarts.
    void clear();

    const RecorderOptions& options() const { return options_; }
    const std::vector<OpRecord>& ops() const { return ops_; }
    const std::vector<PassRecord>& passes() const { return passes_; }
    const std::vector<SampleRecord>& samples() const { return samples_; }
    const std::vector<TokenizeEvent>& tokenizations() const { return tokenize_; }
    int64_t layers() const { return layers_; }

    // Totals of a phase: forward-pass time, tokens evaluated, passes.
    double phase_ms(GenerationPhase phase) const;
    int64_t phase_tokens(GenerationPhase phase) const;
    int64_t phase_passes(GenerationPhase phase) const;
    double sampling_ms() const;
    double tokenize_ms() const;
    std::vector<LayerTiming> layer_times(GenerationPhase phase) const;
    // Time of a pass's ops outside the blocks: embedding, final norm + LM head.
    double pass_op_ms(const PassRecord& pass, int layer_from, int layer_to) const;

private:
    double now_ms() const;
    RecorderOptions options_;
    int64_t start_ns_;
    GenerationPhase phase_ = GenerationPhase::prompt;
    int64_t layers_ = 0;
    std::vector<OpRecord> ops_;
    std::vector<PassRecord> passes_;
    std::vector<SampleRecord> samples_;
    std::vector<TokenizeEvent> tokenize_;
    const int32_t* batch_positions_ = nullptr;
    int64_t batch_rows_ = 0;
};

// ---- reports (what apr run / chat print on stderr) --------------------------

// --trace: the kernel of each layer's parts in the first pass
// ("[TRACE-CACHE] Layer 0: QKV projection using Q4_K (avx512 Q4_K x Q8_K)"),
// one line per pass ("[TRACE-CACHE] pos=N: 28 layers took 45.2ms"), then a
// summary (prompt and generation tok/s, time per phase).
APR_API std::string format_trace(const Recorder& rec);
// --trace-level layer: Layer | Attn (ms) | FFN (ms) | Norm (ms) | Total (ms)
// for the prompt (summed) and per generated token (mean), with the ops
// outside the layers and the measured pass time beneath.
APR_API std::string format_layer_table(const Recorder& rec);
// --trace-payload: per pass, the statistics of each layer's output (last
// row) and the top logits of each step; NaN/Inf, all-zero tensors and ids
// outside [0, token_count) are flagged with "ERROR". `errors` (if given)
// receives how many were flagged.
APR_API std::string format_payload(const Recorder& rec, int64_t token_count, int64_t* errors = nullptr);

// The machine's measured peaks for the roofline: the CPU's, or the GPU's
// when the model runs there (apr::device_peaks in apr/device.hpp picks).
struct MachinePeaks {
    std::string cpu;          // the CPU's model name, or the GPU's name
    int threads = 0;          // CPU threads measured with (0 for a GPU)
    double bandwidth_gbs = 0; // memory read bandwidth, GB/s
    double gflops = 0;        // CPU: f32 FMA throughput; GPU: f16 tensor-core multiply-add, GFLOP/s
    bool from_cache = false;
    // The last-level cache's size (sysfs, or the GPU's L2; 0 when unknown):
    // a pass whose bytes fit in it may run above the memory bandwidth peak.
    int64_t llc_bytes = 0;
    bool gpu = false;
};
// Measures (about half a second) with `threads` threads.
APR_API MachinePeaks measure_peaks(int threads);
// Reads the figures cached for this CPU and thread count in `cache_file`,
// or measures and writes them there. An unreadable or unwritable cache is
// ignored (measured again).
APR_API MachinePeaks cached_peaks(int threads, const std::filesystem::path& cache_file);
// Writes `peaks` into `cache_file` as this CPU's entry for its thread count
// (replacing the old one, keeping the others). Returns false when the file
// cannot be written.
APR_API bool store_peaks(const MachinePeaks& peaks, const std::filesystem::path& cache_file);
// The entry cached in `cache_file` for this machine name, thread count and
// kind (CPU or GPU), if there is one.
APR_API std::optional<MachinePeaks> find_cached_peaks(std::string_view machine, int threads, bool gpu,
                                                      const std::filesystem::path& cache_file);
// $XDG_CACHE_HOME/apr/machine_peaks.json (default ~/.cache/apr/...).
APR_API std::filesystem::path default_peaks_cache();

// The roofline of a recording: per op class bytes moved and FLOPs per
// token, achieved GB/s and GFLOP/s against the peaks, memory- vs
// compute-bound shares, the bottleneck and a recommendation; for the prompt
// and for decode. Shares are fractions (0..1).
struct ProfileClass {
    std::string_view name;  // "FFN projections (gate, up, down)", ...
    double ms_per_token = 0, share = 0, mb_per_token = 0, mflop_per_token = 0;
    double intensity = 0;   // FLOP per byte
    double gbs = 0, bandwidth_share = 0, gflops = 0, compute_share = 0;
    bool memory_bound = true;
};
struct ProfilePhase {
    GenerationPhase phase;
    int64_t tokens = 0;
    double ms_per_token = 0, mb_per_token = 0, mflop_per_token = 0;
    double memory_share = 0, compute_share = 0;  // of the ops' time
    std::vector<ProfileClass> classes;
    std::string_view bottleneck;
    double bottleneck_share = 0, bottleneck_peak_share = 0;
    bool bottleneck_memory_bound = true;
    std::string recommendation;
    double mb_per_pass = 0;  // bytes one forward pass moves
    double gbs = 0;          // all the phase's bytes over all its ops' time
    // mb_per_pass fits in the last-level cache: memory-bound ops can pass
    // the bandwidth peak, which is DRAM's.
    bool fits_in_cache = false;
};
struct Profile {
    MachinePeaks peaks;
    double ridge = 0;  // FLOP/byte where compute and bandwidth limits meet
    std::vector<ProfilePhase> phases;
    // A phase whose passes do not fit in the last-level cache streamed its
    // bytes from memory faster than peaks.bandwidth_gbs: the peak is too low
    // (measured while the machine was busy). The fastest such rate, else 0;
    // callers may raise the cached peak to it (raised_peaks).
    double memory_gbs_above_peak = 0;
};
// `peaks` with the bandwidth raised to what `profile` saw streamed from
// memory, when that is higher (a peak is the most the machine has done).
APR_API MachinePeaks raised_peaks(const Profile& profile, MachinePeaks peaks);
// `kv_value_bytes`: bytes per cached key or value element (f32 4, f16 2,
// q8_0 34/32), for attention's bytes read.
APR_API Profile profile_of(const Recorder& rec, const MachinePeaks& peaks, double kv_value_bytes = 2.0);
// --profile: the same as text.
APR_API std::string format_profile(const Recorder& rec, const MachinePeaks& peaks, double kv_value_bytes = 2.0);
// The text of a profile already computed (callers that also need the numbers).
APR_API std::string format_profile(const Profile& profile);

// --trace-output: Chrome Trace Event JSON ({"traceEvents": [...],
// "summary": {...}}); `summary_fields` is spliced into the summary object
// (`"model": "...", ...` without braces; may be empty).
APR_API std::string chrome_trace_json(const Recorder& rec, const std::string& summary_fields);

}  // namespace apr::trace
