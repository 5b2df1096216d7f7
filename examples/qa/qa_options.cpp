#include "qa_options.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <sstream>

#include "commands.hpp"

#ifndef APR_QA_FIXTURES_DIR
#define APR_QA_FIXTURES_DIR ""
#endif

namespace apr::qa {
namespace {

using cli::UsageError;

std::vector<std::string> split_list(const std::string& text) {
    std::vector<std::string> out;
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ','))
        if (!item.empty()) out.push_back(item);
    return out;
}

// The shared fixtures' nano folder: $APR_FIXTURES_DIR, else the folder the
// build was configured with (../shared/fixtures beside the source tree).
std::filesystem::path default_hf_folder() {
    std::filesystem::path dir = APR_QA_FIXTURES_DIR;
    if (const char* env = std::getenv("APR_FIXTURES_DIR"); env && *env) dir = env;
    return dir.empty() ? std::filesystem::path() : dir / "nano";
}

}  // namespace

QaOptions parse_qa_options(const std::vector<std::string>& args, const std::string& program,
                           const std::filesystem::path& self) {
    cli::Flags flags(program,
                     "[--class quantized|full-precision|all] [--matrix] [--tracing-tests] [--backend cpu|cuda] "
                     "[--format gguf|apr|safetensors] [--json FILE] [--with-ollama]",
                     "The QA matrix (docs/qa.md): one canonical model across formats and backends, 145 points.\n"
                     "Class A (quantized, 60): the GGUF (--model) and its APR conversion on CPU and GPU. Class B (full\n"
                     "precision, 40): the SafeTensors folder (--hf-model) and its APR F32 conversion on CPU and GPU.\n"
                     "Tracing (45): every tracing mode of apr run, apr chat and apr serve. GPU cells without a GPU are\n"
                     "skipped, never passed. Exit status 0 when nothing failed, 1 when a cell failed, 2 for bad flags.");
    QaOptions o;
    std::optional<std::string> model, hf_model, json_file, work_dir, apr_cli, trace_level;
    std::string klass = "all", backend = "all", format = "all";
    flags.add("--model", &model, "class A's canonical quantized GGUF (default: the bundled nano model)", "FILE");
    flags.add("--hf-model", &hf_model,
              "class B's full-precision Hugging Face SafeTensors folder (default: the shared fixtures' nano folder "
              "when present, else class B is skipped)",
              "DIR");
    flags.add("--class", &klass, "which classes the matrix runs: quantized, full-precision or all", "CLASS");
    flags.add("--matrix", &o.matrix, "run the format x backend matrix (the default when --tracing-tests is not given)");
    flags.add("--tracing-tests", &o.tracing, "run the 15 tracing cells (apr run, apr chat, apr serve)");
    flags.add("--backend", &backend, "only the cells of this backend: cpu, cuda or all", "BACKEND");
    flags.add("--format", &format, "only the cells of this format: gguf, apr, safetensors or all (the tracing cells run "
              "on the first source of that format)", "FORMAT");
    flags.add("--trace-level", &trace_level,
              "only these tracing modes, comma separated: none, trace, layer, profile, trace-output, x-trace-level "
              "(default: all)",
              "LIST");
    flags.add("--json", &json_file, "also write the results as JSON to FILE ('-' for stdout)", "FILE");
    flags.add("--work-dir", &work_dir, "folder for the converted models and logs (default: a temporary folder, removed "
              "afterwards)", "DIR");
    flags.add("--keep-work", &o.keep_work, "keep the temporary work folder");
    flags.add("--apr", &apr_cli, "the apr program the tracing cells start (default: $APR_CLI, else the apr beside "
              "this program)", "PATH");
    flags.add("--threads", &o.threads, "CPU threads (0 = all)");
    flags.add("--max-tokens", &o.max_tokens, "most tokens generated per answer");
    flags.add("--with-ollama", &o.with_ollama,
              "compare with Ollama or llama.cpp (llama-simple, llama-bench) when found: the same text, tok/s within 2x, "
              "peak RSS within 1.5x");
    flags.add("--parity-reps", &o.parity_reps, "with --with-ollama: interleaved speed measurements per side");
    const std::vector<std::string> positional = flags.parse(args);
    if (!positional.empty()) throw UsageError(fmt::format("unexpected argument '{}'", positional.front()));

    if (klass == "quantized") o.full_precision = false;
    else if (klass == "full-precision") o.quantized = false;
    else if (klass != "all")
        throw UsageError(fmt::format("--class must be quantized, full-precision or all, not '{}'", klass));
    if (backend != "all") {
        if (backend != "cpu" && backend != "cuda")
            throw UsageError(fmt::format("--backend must be cpu, cuda or all, not '{}'", backend));
        o.backends = {backend};
    }
    if (format != "all") {
        if (format != "gguf" && format != "apr" && format != "safetensors")
            throw UsageError(fmt::format("--format must be gguf, apr, safetensors or all, not '{}'", format));
        o.formats = {format};
    }
    if (trace_level) {
        const std::vector<std::string> modes = split_list(*trace_level);
        if (modes.empty()) throw UsageError("--trace-level needs at least one mode");
        for (const std::string& m : modes) {
            if (m == "all") continue;
            bool known = false;
            for (const std::string& name : trace_mode_names()) known = known || name == m;
            if (!known)
                throw UsageError(fmt::format("--trace-level: unknown mode '{}' (none, trace, layer, profile, "
                                             "trace-output, x-trace-level or all)", m));
            o.trace_modes.insert(m);
        }
    }
    if (o.threads < 0 || o.threads > 4096) throw UsageError("--threads must be 0..4096");
    if (o.max_tokens < 1 || o.max_tokens > 4096) throw UsageError("--max-tokens must be 1..4096");
    if (o.parity_reps < 1 || o.parity_reps > 20) throw UsageError("--parity-reps must be 1..20");
    if (json_file && json_file->empty()) throw UsageError("--json needs a FILE");
    if (!o.matrix && !o.tracing) o.matrix = true;

    o.model = model ? *model : cli::default_model_path();
    if (!std::filesystem::exists(o.model)) throw UsageError(fmt::format("--model: '{}' does not exist", o.model));
    if (hf_model) {
        if (!std::filesystem::is_directory(*hf_model))
            throw UsageError(fmt::format("--hf-model: '{}' is not a folder", *hf_model));
        o.hf_model = *hf_model;
        o.hf_model_given = true;
    } else if (const auto dir = default_hf_folder(); !dir.empty() && std::filesystem::exists(dir / "config.json")) {
        o.hf_model = dir.lexically_normal().string();
    }
    o.json_file = json_file;
    if (work_dir) o.work_dir = *work_dir;

    if (apr_cli) {
        o.apr_cli = *apr_cli;
    } else if (const char* env = std::getenv("APR_CLI"); env && *env) {
        o.apr_cli = env;
    } else if (self.filename() == "apr") {
        o.apr_cli = self;
    } else {
        o.apr_cli = self.parent_path() / "apr";
    }
    if (o.tracing && !std::filesystem::exists(o.apr_cli))
        throw UsageError(fmt::format("--tracing-tests starts the apr program, but '{}' does not exist (see --apr)",
                                     o.apr_cli.string()));
    return o;
}

}  // namespace apr::qa
