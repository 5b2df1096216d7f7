// apr inspect [PATH] [--json] [--verify]: what a model file holds (format,
// architecture, hyperparameters, tokenizer, tensors). PATH is a GGUF file, an
// APR file, a SafeTensors file or a Hugging Face folder; without it, the
// bundled default model. --verify also checks the whole-file checksum (APR).
#include <fmt/core.h>

#include <map>

#include "apr/model_file.hpp"
#include "apr/verify.hpp"
#include "commands.hpp"
#include "flags.hpp"

namespace apr::cli {
namespace {

std::string shape_text(const std::vector<int64_t>& shape) {
    std::string out = "[";
    for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
    return out + "]";
}

std::string optional_id(const std::optional<int32_t>& id) { return id ? std::to_string(*id) : "-"; }

void print_human(const ModelFile& file) {
    const ModelConfig& c = file.config();
    fmt::print("file          {}\n", file.path().string());
    fmt::print("format        {}\n", file_format_name(file.format()));
    fmt::print("architecture  {}\n", c.architecture.empty() ? "-" : c.architecture);

    fmt::print("\nhyperparameters\n");
    fmt::print("  hidden size         {}\n", c.hidden_size);
    fmt::print("  layers              {}\n", c.num_layers);
    fmt::print("  attention heads     {} (KV heads {}, head dim {})\n", c.num_heads, c.num_kv_heads, c.head_dim);
    fmt::print("  intermediate size   {}\n", c.intermediate_size);
    fmt::print("  vocabulary size     {}\n", c.vocab_size);
    fmt::print("  context length      {}\n", c.context_length);
    fmt::print("  rope theta          {}\n", c.rope_theta);
    fmt::print("  rms norm eps        {}\n", c.rms_norm_eps);
    fmt::print("  tied embeddings     {}\n", c.tied_embeddings ? "yes" : "no");
    fmt::print("  attention bias      {}\n", c.attention_bias ? "yes" : "no");
    std::string eos;
    for (int32_t id : c.eos_token_ids) eos += (eos.empty() ? "" : ", ") + std::to_string(id);
    fmt::print("  bos / eos / pad     {} / {} / {}\n", optional_id(c.bos_token_id), eos.empty() ? "-" : eos,
               optional_id(c.pad_token_id));

    const TokenizerSummary& t = file.tokenizer_summary();
    fmt::print("\ntokenizer\n");
    fmt::print("  model               {}\n", t.model.empty() ? "-" : t.model);
    fmt::print("  pre-tokenizer       {}\n", t.pre_tokenizer.empty() ? "-" : t.pre_tokenizer);
    fmt::print("  vocabulary size     {}\n", t.vocab_size);
    std::string specials;
    for (const auto& [role, id] : t.special_tokens) specials += fmt::format("{}{}={}", specials.empty() ? "" : ", ", role, id);
    fmt::print("  special tokens      {}\n", specials.empty() ? "-" : specials);
    fmt::print("  chat template       {}\n", t.has_chat_template ? "present" : "absent");

    fmt::print("\ntensors ({})\n", file.tensors().size());
    if (file.tensors().empty()) return;
    size_t width = 4;
    for (const auto& v : file.tensors()) width = std::max(width, v.name.size());
    fmt::print("  {:<{}}  {:<5}  {:<16}  {:>12}\n", "name", width, "type", "shape", "bytes");
    struct Total {
        size_t count = 0;
        size_t bytes = 0;
        int64_t elements = 0;
    };
    std::map<std::string, Total> totals;
    size_t all_bytes = 0;
    for (const auto& v : file.tensors()) {
        const std::string type(dtype_name(v.dtype));
        fmt::print("  {:<{}}  {:<5}  {:<16}  {:>12}\n", v.name, width, type, shape_text(v.shape), v.nbytes);
        auto& total = totals[type];
        ++total.count;
        total.bytes += v.nbytes;
        total.elements += v.elements();
        all_bytes += v.nbytes;
    }
    fmt::print("\ntotals by type\n");
    for (const auto& [type, total] : totals)
        fmt::print("  {:<5}  {:>4} tensors  {:>14} values  {:>14} bytes\n", type, total.count, total.elements, total.bytes);
    fmt::print("  all    {:>4} tensors  {:>14} bytes ({:.1f} MiB)\n", file.tensors().size(), all_bytes,
               static_cast<double>(all_bytes) / (1024.0 * 1024.0));
}

}  // namespace

int cmd_inspect(const Args& args) {
    Flags flags("apr inspect", "[PATH] [--json] [--verify]",
                "Show what a model file holds: format, architecture, hyperparameters, tokenizer summary and the\n"
                "tensor table. PATH is a GGUF file, an APR file, a SafeTensors file or a Hugging Face model folder.");
    bool json = false;
    bool verify = false;
    flags.add("--json", &json, "print one JSON object instead of the human-readable report");
    flags.add("--verify", &verify,
              "check the whole-file CRC-32 footer of an APR file (the header CRC is checked on every open); "
              "a mismatch is an error (exit 1)");
    const std::vector<std::string> positional = flags.parse(args);
    if (positional.size() > 1) throw UsageError("expected at most one PATH");
    const std::string path = positional.empty() ? default_model_path() : positional.front();
    const auto file = open_model_file(path);
    // Verified before printing, so a damaged file prints nothing but the error.
    const bool verified = verify && verify_model_file(*file);
    if (verify && !json)
        fmt::print("checksum      {}\n", verified ? "ok (CRC-32 footer matches)" : "none in this format (not checked)");
    if (json)
        fmt::print("{}\n", inspect_json(*file));
    else
        print_human(*file);
    return 0;
}

}  // namespace apr::cli
