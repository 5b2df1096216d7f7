// apr-make-random-model: writes a GGUF with the exact shapes, tensor types and
// tokenizer of Qwen2.5-Coder-1.5B-Instruct Q4_K_M but seeded random weights,
// so libapr and llama.cpp can be timed on a full-size model without
// downloading one. It costs the same to load and run as the real file; its
// output text is of course meaningless.
//
//   apr-make-random-model --out /tmp/qwen1.5b-random-q4_k_m.gguf
//   apr-make-random-model --out /tmp/small.gguf --layers 2 --type q8_0
//   apr-make-random-model --out /tmp/tiny32k.gguf --tiny --context 32768 --type f16
#include <fmt/core.h>
#include <tbb/global_control.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "apr/error.hpp"
#include "apr/model_file.hpp"
#include "core/fail.hpp"
#include "examples/apr/flags.hpp"
#include "random_model_metadata.hpp"
#include "random_model_plan.hpp"
#include "random_model_writer.hpp"

namespace {

using namespace apr;
using namespace apr::tools;

struct Options {
    std::string out;
    std::string vocab = APR_RANDOM_MODEL_DEFAULT_VOCAB;
    std::string type = "q4_k_m";
    std::string quantizer = "fast";
    int64_t seed = 42;
    std::optional<int64_t> layers;
    bool tied = false;
    std::optional<int64_t> threads;
    bool tiny = false;
    std::optional<int64_t> context;
};

// Returns nullopt after printing --help.
std::optional<Options> parse_options(int argc, char** argv) {
    Options o;
    cli::Flags flags("apr-make-random-model", "--out PATH [options]",
                     "Write a Qwen2.5-Coder-1.5B-shaped GGUF with seeded random weights and the real Qwen2.5 "
                     "tokenizer, typed like llama-quantize's output.");
    flags.add("--out", &o.out, "where to write the GGUF (written to a temporary name, then renamed)", "PATH");
    flags.add("--vocab", &o.vocab,
              "vocab-only GGUF whose qwen2.* hyperparameters and tokenizer.* keys are copied", "PATH");
    flags.add("--type", &o.type, "q4_k_m (llama.cpp's Q4_K/Q6_K mix), q8_0 or f16", "TYPE");
    flags.add("--quantizer", &o.quantizer,
              "Q4_K/Q6_K quantizer: fast (one pass, enough for speed runs) or library (apr's searching one, ~20x slower)",
              "NAME");
    flags.add("--seed", &o.seed, "random seed; the same seed writes the same bytes");
    flags.add("--layers", &o.layers, "number of transformer blocks (default: the vocab file's, 28)");
    flags.add("--tied", &o.tied,
              "omit output.weight and tie the LM head to token_embd (the official GGUF has a separate one)");
    flags.add("--threads", &o.threads, "worker threads (default: all cores)");
    flags.add("--tiny", &o.tiny,
              "a tiny shape (2 layers, hidden 64, 2 heads, 1 KV head, vocab 512) without a tokenizer, for tests; "
              "use --type f16 or q8_0");
    flags.add("--context", &o.context, "trained context length written to the file (default: the vocab file's)");
    std::vector<std::string> args(argv + 1, argv + argc);
    std::vector<std::string> positional;
    try {
        positional = flags.parse(args);
    } catch (const cli::HelpRequested&) {
        fmt::print("{}", flags.help());
        return std::nullopt;
    }
    if (!positional.empty()) throw cli::UsageError(fmt::format("unexpected argument '{}'", positional.front()));
    if (o.out.empty()) throw cli::UsageError("--out PATH is required");
    if (!random_model_type_from_name(o.type))
        throw cli::UsageError(fmt::format("--type must be q4_k_m, q8_0 or f16, got '{}'", o.type));
    if (o.quantizer != "fast" && o.quantizer != "library")
        throw cli::UsageError(fmt::format("--quantizer must be fast or library, got '{}'", o.quantizer));
    if (o.layers && (*o.layers < 1 || *o.layers > 1024))
        throw cli::UsageError(fmt::format("--layers must be 1..1024, got {}", *o.layers));
    if (o.threads && (*o.threads < 1 || *o.threads > 4096))
        throw cli::UsageError(fmt::format("--threads must be 1..4096, got {}", *o.threads));
    if (o.seed < 0) throw cli::UsageError(fmt::format("--seed must be >= 0, got {}", o.seed));
    if (o.context && (*o.context < 1 || *o.context > (int64_t{1} << 24)))
        throw cli::UsageError(fmt::format("--context must be 1..{}, got {}", int64_t{1} << 24, *o.context));
    if (o.tiny && o.type == "q4_k_m")
        throw cli::UsageError("--tiny rows (64 values) are too short for Q4_K blocks: use --type f16 or q8_0");
    return o;
}

int run(const Options& o) {
    std::optional<tbb::global_control> threads;
    if (o.threads) threads.emplace(tbb::global_control::max_allowed_parallelism, static_cast<size_t>(*o.threads));

    // Generating takes a while: refuse an unwritable destination first.
    const std::filesystem::path out_dir = std::filesystem::absolute(o.out).parent_path();
    if (!std::filesystem::is_directory(out_dir))
        fail(ErrorCode::io, "--out {}: folder {} does not exist", o.out, out_dir.string());

    const auto start = std::chrono::steady_clock::now();
    const auto vocab = o.tiny ? nullptr : open_model_file(o.vocab);
    Qwen2Shape shape = o.tiny ? tiny_shape(32768) : shape_from_vocab_file(*vocab);
    if (o.layers) shape.layers = *o.layers;
    if (o.context) shape.context = *o.context;
    if (!o.tiny) shape.separate_output = !o.tied;
    const RandomModelType type = *random_model_type_from_name(o.type);
    const auto plan = plan_random_model(shape, type);
    const Metadata meta = o.tiny ? tokenizerless_model_metadata(shape, type, o.seed)
                                 : random_model_metadata(*vocab, shape, type, o.seed);

    fmt::print("writing {}: {} layers, {} tensors, {:.3f} B parameters, {:.3f} GiB of tensor data ({})\n", o.out,
               shape.layers, plan.size(), static_cast<double>(planned_elements(plan)) * 1e-9,
               static_cast<double>(planned_data_bytes(plan)) / (1024.0 * 1024.0 * 1024.0), random_model_type_name(type));
    std::fflush(stdout);

    const uint64_t file_bytes =
        write_random_model(o.out, meta, plan, static_cast<uint64_t>(o.seed),
                           o.quantizer == "fast" ? KQuantizer::fast : KQuantizer::library);

    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    fmt::print("wrote {} bytes ({:.3f} GiB) in {:.1f} s\n", file_bytes,
               static_cast<double>(file_bytes) / (1024.0 * 1024.0 * 1024.0), seconds);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        const auto options = parse_options(argc, argv);
        return options ? run(*options) : 0;
    } catch (const apr::cli::UsageError& e) {
        fmt::print(stderr, "apr-make-random-model: {}\n(see `apr-make-random-model --help`)\n", e.what());
        return 2;
    } catch (const apr::Error& e) {
        fmt::print(stderr, "apr-make-random-model: error: {}\n", e.what());
        return 1;
    } catch (const std::exception& e) {
        fmt::print(stderr, "apr-make-random-model: unexpected error: {}\n", e.what());
        return 1;
    }
}
