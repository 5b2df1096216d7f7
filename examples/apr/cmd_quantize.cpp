// apr quantize SOURCE --type q4_k_m|q8_0|q4_0|... --output FILE [--force]
// Quantizes an F32/F16/BF16 model with llama.cpp's recipes and prints the
// weight RMSE of each output type.
#include <fmt/core.h>

#include <cctype>

#include "apr/convert.hpp"
#include "commands.hpp"
#include "conversion_output.hpp"
#include "flags.hpp"
#include "progress_bar.hpp"

namespace apr::cli {

int cmd_quantize(const Args& args) {
    std::string types;
    for (auto n : quantize_type_names()) types += (types.empty() ? "" : "|") + std::string(n);
    Flags flags("apr quantize", "SOURCE --type TYPE --output FILE [--force]",
                "Quantize the weights of SOURCE (a Hugging Face folder, SafeTensors, or an f16/f32 GGUF or APR\n"
                "file) with llama.cpp's recipe for TYPE (" + types + ").\n"
                "q4_k_m uses Q4_K, with Q6_K for the output (or tied embedding) and for attn_v and ffn_down of\n"
                "the layers llama.cpp gives more bits. Norms and biases stay f32. FILE is GGUF when it ends in\n"
                ".gguf, APR otherwise. Prints each output type's weight RMSE against the source values.");
    std::string type;
    std::optional<std::string> output;
    bool force = false;
    flags.add("--type", &type, "the recipe: " + types, "TYPE");
    flags.add("--output", &output, "the file to write (default: SOURCE's name with -TYPE.apr)", "FILE");
    flags.add("--force", &force, "replace an existing output file");
    const std::vector<std::string> positional = flags.parse(args);
    if (positional.size() != 1) throw UsageError("expected exactly one SOURCE");
    if (type.empty()) throw UsageError("--type is required (" + types + ")");
    for (char& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    bool known = false;
    for (auto n : quantize_type_names()) known = known || n == type;
    if (!known) throw UsageError("--type must be one of " + types + ", not '" + type + "'");
    const std::filesystem::path source = positional.front();
    QuantizeParams params;
    params.type = type;
    params.overwrite = force;
    const std::filesystem::path target = output ? std::filesystem::path(*output) : default_output(source, "-" + type + ".apr");
    QuantizeReport report;
    {
        ProgressBar bar("quantize");
        params.progress = bar.callback();
        report = quantize_model(source, target, params);
    }
    print_report(report.conversion);
    fmt::print("weight RMSE by type (against the source values):\n");
    for (const QuantizeError& e : report.per_type)
        fmt::print("  {:<5} {:>4} tensors {:>12} values  rmse {:.6g}\n", dtype_name(e.type), e.tensors, e.elements,
                   e.rmse);
    return 0;
}

}  // namespace apr::cli
