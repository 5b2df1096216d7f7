// apr::export_model: an APR file -> GGUF (llama.cpp) or a Hugging Face folder.
#include <algorithm>

#include "apr/convert.hpp"
#include "apr/model_file.hpp"
#include "convert/conversion_report.hpp"
#include "convert/gguf_output.hpp"
#include "convert/hf_output.hpp"
#include "convert/rope_rows.hpp"
#include "core/fail.hpp"
#include "formats/apr_metadata.hpp"

namespace apr {
namespace {

// Q/K rows of a Llama model in HF ("neox") order must be reordered for
// llama.cpp, which expects its converter's interleaved order.
int64_t rope_heads(const ModelConfig& c, const std::string& name) {
    if (name.ends_with("attn_q.weight") || name.ends_with("attn_q.bias")) return c.num_heads;
    if (name.ends_with("attn_k.weight") || name.ends_with("attn_k.bias")) return c.num_kv_heads;
    return 0;
}

ConversionReport export_gguf(const ModelFile& file, const formats::AprMetadata& md,
                             const std::filesystem::path& output, const ExportParams& params) {
    formats::GgufWriter w;
    convert::set_gguf_metadata(w, md);
    const bool permute = md.config.architecture == "llama" && md.rope_type == "neox";
    std::vector<const TensorView*> order;
    for (const TensorView& t : file.tensors()) order.push_back(&t);
    std::sort(order.begin(), order.end(),
              [](const TensorView* a, const TensorView* b) { return convert::gguf_tensor_order(a->name, b->name); });
    convert::TypeCounter counts;
    for (const TensorView* t : order) {
        counts.add(t->dtype);
        const int64_t heads = permute ? rope_heads(md.config, t->name) : 0;
        if (heads == 0) {
            w.add_tensor(t->name, t->dtype, t->shape, std::span<const std::byte>(t->data, t->nbytes));
            continue;
        }
        std::vector<std::byte> bytes(t->data, t->data + t->nbytes);
        convert::permute_rope_rows(bytes, t->shape.size() == 1 ? t->shape[0] : t->rows(), heads, /*to_normal=*/true);
        w.add_tensor(t->name, t->dtype, t->shape, std::move(bytes));
    }
    const formats::GgufLayout layout =
        w.write(output, params.overwrite, [&](size_t done, size_t total, const std::string& name) {
            if (params.progress) params.progress(done, total, name);
        });
    return counts.report(output, layout.file_size);
}

}  // namespace

ConversionReport export_model(const std::filesystem::path& apr_file, const std::filesystem::path& output,
                              const ExportParams& params) {
    const auto file = open_model_file(apr_file);
    if (file->format() != FileFormat::apr)
        fail(ErrorCode::invalid_argument, "{}: export reads APR files (this is {}); `apr import` it first",
             apr_file.string(), file_format_name(file->format()));
    const formats::AprMetadata md = formats::read_apr_metadata(apr_file);
    if (params.format == ExportFormat::gguf) return export_gguf(*file, md, output, params);
    return convert::export_hf_folder(*file, md, output, params);
}

}  // namespace apr
