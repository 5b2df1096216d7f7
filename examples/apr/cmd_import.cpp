// apr import SOURCE [--output FILE.apr] [--dtype keep|f32|f16|bf16]
//            [--preserve-quantization] [--force]
// Converts a GGUF file, a SafeTensors file, a Hugging Face folder (or an APR
// file) into one APR file (docs/apr-format.md).
#include <fmt/core.h>

#include "apr/convert.hpp"
#include "commands.hpp"
#include "conversion_output.hpp"
#include "flags.hpp"
#include "progress_bar.hpp"

namespace apr::cli {

int cmd_import(const Args& args) {
    Flags flags("apr import", "SOURCE [--output FILE.apr] [--dtype keep|f32|f16|bf16] [--force]",
                "Convert SOURCE (a GGUF file, a SafeTensors file or a Hugging Face model folder) into an APR\n"
                "file carrying the weights, config, tokenizer and chat template. From GGUF every tensor keeps\n"
                "its exact bytes (quantized types included); from SafeTensors the default is f32. The file is\n"
                "written atomically and an existing one is replaced only with --force.");
    std::optional<std::string> output;
    std::string dtype = "default";
    bool preserve = false;
    bool force = false;
    flags.add("--output", &output, "the APR file to write (default: SOURCE's name with .apr, in the current folder)",
              "FILE");
    flags.add("--dtype", &dtype,
              "type of floating-point tensors: keep, f32, f16 or bf16 (default: keep for GGUF, f32 for "
              "SafeTensors); quantized tensors always keep their bytes",
              "TYPE");
    flags.add("--preserve-quantization", &preserve, "keep quantized tensors as they are (the default; accepted for "
              "scripts that spell it)");
    flags.add("--force", &force, "replace an existing output file");
    const std::vector<std::string> positional = flags.parse(args);
    if (positional.size() != 1) throw UsageError("expected exactly one SOURCE");
    ImportParams params;
    if (dtype == "f32") params.dtype = DType::F32;
    else if (dtype == "f16") params.dtype = DType::F16;
    else if (dtype == "bf16") params.dtype = DType::BF16;
    else if (dtype != "keep" && dtype != "default")
        throw UsageError(fmt::format("--dtype must be keep, f32, f16 or bf16, not '{}'", dtype));
    if (dtype == "keep") params.dtype = std::nullopt;
    const std::filesystem::path source = positional.front();
    const std::filesystem::path target = output ? std::filesystem::path(*output) : default_output(source, ".apr");
    params.overwrite = force;
    ConversionReport report;
    {
        ProgressBar bar("import");
        params.progress = bar.callback();
        report = import_model(source, target, params);
    }
    print_report(report);
    return 0;
}

}  // namespace apr::cli
