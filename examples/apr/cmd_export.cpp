// apr export FILE.apr --format gguf|safetensors --output PATH [--force]
// Writes an APR file as a GGUF file (for llama.cpp) or as a Hugging Face
// folder (config.json, tokenizer files, model.safetensors).
#include <fmt/core.h>

#include "apr/convert.hpp"
#include "commands.hpp"
#include "conversion_output.hpp"
#include "flags.hpp"
#include "progress_bar.hpp"

namespace apr::cli {

int cmd_export(const Args& args) {
    Flags flags("apr export", "FILE.apr --format gguf|safetensors --output PATH [--force]",
                "Write an APR file in another format. gguf: one file that llama.cpp loads (tensor data byte for\n"
                "byte). safetensors: a Hugging Face folder at PATH with config.json, generation_config.json,\n"
                "tokenizer.json, tokenizer_config.json and model.safetensors (quantized tensors become f32).");
    std::string format;
    std::optional<std::string> output;
    bool force = false;
    flags.add("--format", &format, "gguf or safetensors (a Hugging Face folder)", "FORMAT");
    flags.add("--output", &output, "the GGUF file or the folder to write (default: FILE's name with .gguf, or "
              "FILE's name as a folder)", "PATH");
    flags.add("--force", &force, "replace existing output files");
    const std::vector<std::string> positional = flags.parse(args);
    if (positional.size() != 1) throw UsageError("expected exactly one FILE.apr");
    ExportParams params;
    if (format == "gguf") params.format = ExportFormat::gguf;
    else if (format == "safetensors" || format == "hf") params.format = ExportFormat::safetensors;
    else throw UsageError(format.empty() ? "--format is required (gguf or safetensors)"
                                         : fmt::format("--format must be gguf or safetensors, not '{}'", format));
    const std::filesystem::path source = positional.front();
    const std::filesystem::path target =
        output ? std::filesystem::path(*output)
               : default_output(source, params.format == ExportFormat::gguf ? ".gguf" : "");
    params.overwrite = force;
    ConversionReport report;
    {
        ProgressBar bar("export");
        params.progress = bar.callback();
        report = export_model(source, target, params);
    }
    print_report(report);
    return 0;
}

}  // namespace apr::cli
