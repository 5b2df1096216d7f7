#include "convert/hf_output.hpp"

#include <algorithm>
#include <map>

#include "convert/conversion_report.hpp"
#include "convert/rope_rows.hpp"
#include "convert/tensor_bytes.hpp"
#include "core/atomic_file.hpp"
#include "core/fail.hpp"
#include "formats/json_writer.hpp"
#include "formats/tensor_names.hpp"
#include "tokenizer/pre_tokenizer.hpp"

namespace apr::convert {
namespace {

namespace fs = std::filesystem;
using formats::JsonWriter;

std::string_view safetensors_dtype(DType t) {
    switch (t) {
        case DType::F32: return "F32";
        case DType::F16: return "F16";
        case DType::BF16: return "BF16";
        default: return "";
    }
}

std::string token_text(const formats::AprTokenizer& t, const std::optional<int32_t>& id) {
    return id && static_cast<size_t>(*id) < t.vocabulary.size() ? t.vocabulary[static_cast<size_t>(*id)] : "";
}

void write_text(const fs::path& path, const std::string& text, bool overwrite) {
    AtomicFile f(path, overwrite);
    f.write(text.data(), text.size());
    f.commit();
}

int32_t kind_of(const formats::AprTokenizer& t, size_t id) { return t.token_type.empty() ? 1 : t.token_type[id]; }

}  // namespace

std::string hf_config_json(const formats::AprMetadata& md, std::string_view torch_dtype) {
    const ModelConfig& c = md.config;
    const bool llama = c.architecture == "llama";
    JsonWriter w;
    w.begin_object();
    w.key("architectures");
    w.begin_array();
    w.value(llama ? "LlamaForCausalLM" : "Qwen2ForCausalLM");
    w.end_array();
    w.field("model_type", llama ? "llama" : c.architecture);
    w.field("hidden_size", c.hidden_size);
    w.field("intermediate_size", c.intermediate_size);
    w.field("num_hidden_layers", c.num_layers);
    w.field("num_attention_heads", c.num_heads);
    w.field("num_key_value_heads", c.num_kv_heads);
    w.field("head_dim", c.head_dim);
    w.field("max_position_embeddings", c.context_length);
    w.field("rms_norm_eps", c.rms_norm_eps);
    w.field("rope_theta", c.rope_theta);
    w.field("vocab_size", c.vocab_size);
    w.field("tie_word_embeddings", c.tied_embeddings);
    w.field("hidden_act", "silu");
    if (llama) w.field("attention_bias", c.attention_bias);
    if (c.bos_token_id) w.field("bos_token_id", *c.bos_token_id);
    if (c.eos_token_ids.size() == 1) w.field("eos_token_id", c.eos_token_ids[0]);
    w.field("torch_dtype", torch_dtype);
    w.end_object();
    return w.take() + "\n";
}

std::string hf_generation_config_json(const formats::AprMetadata& md) {
    JsonWriter w;
    w.begin_object();
    if (md.config.bos_token_id) w.field("bos_token_id", *md.config.bos_token_id);
    w.key("eos_token_id");
    w.begin_array();
    for (int32_t id : md.config.eos_token_ids) w.value(id);
    w.end_array();
    if (md.config.pad_token_id) w.field("pad_token_id", *md.config.pad_token_id);
    w.end_object();
    return w.take() + "\n";
}

std::string hf_tokenizer_json(const formats::AprTokenizer& t) {
    if (t.model != "gpt2")
        fail(ErrorCode::unsupported, "tokenizer model '{}': only byte-level BPE ('gpt2') can be written as tokenizer.json",
             t.model);
    const auto kind = tokenizer::pre_tokenizer_from_gguf_name(t.pre_type.empty() ? "default" : t.pre_type);
    if (!kind) fail(ErrorCode::unsupported, "pre-tokenizer '{}' cannot be written as tokenizer.json", t.pre_type);
    auto byte_level = [](JsonWriter& w, bool use_regex) {
        w.begin_object();
        w.field("type", "ByteLevel");
        w.field("add_prefix_space", false);
        w.field("trim_offsets", false);
        w.field("use_regex", use_regex);
        w.end_object();
    };
    JsonWriter w;
    w.begin_object();
    w.field("version", "1.0");
    w.key("truncation");
    w.null();
    w.key("padding");
    w.null();
    w.key("added_tokens");
    w.begin_array();
    for (size_t id = 0; id < t.vocabulary.size(); ++id) {
        const int32_t k = kind_of(t, id);
        if (k != 3 && k != 4) continue;
        w.begin_object();
        w.field("id", static_cast<int64_t>(id));
        w.field("content", t.vocabulary[id]);
        w.field("single_word", false);
        w.field("lstrip", false);
        w.field("rstrip", false);
        w.field("normalized", false);
        w.field("special", k == 3);
        w.end_object();
    }
    w.end_array();
    w.key("normalizer");
    if (*kind == tokenizer::PreTokenizerKind::qwen2) {
        w.begin_object();
        w.field("type", "NFC");
        w.end_object();
    } else {
        w.null();
    }
    w.key("pre_tokenizer");
    if (*kind == tokenizer::PreTokenizerKind::gpt2) {
        byte_level(w, true);
    } else {
        w.begin_object();
        w.field("type", "Sequence");
        w.key("pretokenizers");
        w.begin_array();
        w.begin_object();
        w.field("type", "Split");
        w.key("pattern");
        w.begin_object();
        w.field("Regex", tokenizer::pre_tokenizer_regex(*kind));
        w.end_object();
        w.field("behavior", "Isolated");
        w.field("invert", false);
        w.end_object();
        byte_level(w, false);
        w.end_array();
        w.end_object();
    }
    w.key("post_processor");
    byte_level(w, false);
    w.key("decoder");
    byte_level(w, false);
    w.key("model");
    w.begin_object();
    w.field("type", "BPE");
    w.key("dropout");
    w.null();
    w.key("unk_token");
    w.null();
    w.field("continuing_subword_prefix", "");
    w.field("end_of_word_suffix", "");
    w.field("fuse_unk", false);
    w.field("byte_fallback", false);
    w.field("ignore_merges", *kind == tokenizer::PreTokenizerKind::llama3);
    w.key("vocab");
    w.begin_object();
    for (size_t id = 0; id < t.vocabulary.size(); ++id) {
        const int32_t k = kind_of(t, id);
        if (k == 3 || k == 4 || k == 5) continue;  // added tokens are listed above; unused ids are padding
        w.field(t.vocabulary[id], static_cast<int64_t>(id));
    }
    w.end_object();
    w.key("merges");
    w.begin_array();
    for (const auto& m : t.merges) w.value(m);
    w.end_array();
    w.end_object();
    w.end_object();
    return w.take() + "\n";
}

std::string hf_tokenizer_config_json(const formats::AprMetadata& md) {
    JsonWriter w;
    w.begin_object();
    const formats::AprTokenizer& t = *md.tokenizer;
    w.field("add_bos_token", t.add_bos_token.value_or(false));
    w.field("add_prefix_space", false);
    auto token = [&](std::string_view key, const std::optional<int32_t>& id) {
        w.key(key);
        const std::string text = token_text(t, id);
        if (text.empty()) w.null();
        else w.value(text);
    };
    token("bos_token", t.bos_token_id);
    token("eos_token", t.eos_token_id);
    token("pad_token", t.pad_token_id);
    if (md.chat_template) w.field("chat_template", *md.chat_template);
    w.field("clean_up_tokenization_spaces", false);
    if (md.config.context_length > 0) w.field("model_max_length", md.config.context_length);
    w.field("tokenizer_class", "PreTrainedTokenizerFast");
    w.end_object();
    return w.take() + "\n";
}

ConversionReport export_hf_folder(const ModelFile& file, const formats::AprMetadata& md, const fs::path& folder,
                                  const ExportParams& params) {
    std::error_code ec;
    if (fs::exists(folder, ec) && !fs::is_directory(folder, ec))
        fail(ErrorCode::invalid_argument, "{}: exists and is not a folder (a Hugging Face export writes a folder)",
             folder.string());

    // Tensors: HF names, float types kept, quantized types as F32.
    struct Out {
        std::string name;
        const TensorView* view;
        DType type;
        size_t offset;
        size_t nbytes;
    };
    std::vector<Out> tensors;
    for (const TensorView& t : file.tensors()) {
        const DType type = is_float_type(t.dtype) ? t.dtype : DType::F32;
        tensors.push_back({formats::hf_tensor_name(t.name), &t, type, 0, dtype_bytes(type, t.elements())});
    }
    std::sort(tensors.begin(), tensors.end(), [](const Out& a, const Out& b) { return a.name < b.name; });
    std::map<std::string, int> type_votes;
    JsonWriter h;
    h.begin_object();
    h.key("__metadata__");
    h.begin_object();
    h.field("format", "pt");
    h.end_object();
    size_t offset = 0;
    for (Out& o : tensors) {
        o.offset = offset;
        offset += o.nbytes;
        ++type_votes[std::string(safetensors_dtype(o.type))];
        h.key(o.name);
        h.begin_object();
        h.field("dtype", safetensors_dtype(o.type));
        h.key("shape");
        h.begin_array();
        for (int64_t d : o.view->shape) h.value(d);
        h.end_array();
        h.key("data_offsets");
        h.begin_array();
        h.value(static_cast<uint64_t>(o.offset));
        h.value(static_cast<uint64_t>(o.offset + o.nbytes));
        h.end_array();
        h.end_object();
    }
    h.end_object();
    std::string header = h.take();
    header.append((8 - header.size() % 8) % 8, ' ');  // data starts 8-byte aligned

    // Text files: the source's own when carried, else built.
    std::string main_type = "F32";
    int best = -1;
    for (const auto& [t, n] : type_votes)
        if (n > best) best = n, main_type = t;
    const std::string torch_dtype = main_type == "BF16" ? "bfloat16" : main_type == "F16" ? "float16" : "float32";
    std::map<std::string, std::string> texts = md.source_files;
    if (!texts.count("config.json")) texts["config.json"] = hf_config_json(md, torch_dtype);
    if (!texts.count("generation_config.json")) texts["generation_config.json"] = hf_generation_config_json(md);
    if (md.tokenizer && !texts.count("tokenizer.json")) texts["tokenizer.json"] = hf_tokenizer_json(*md.tokenizer);
    if (md.tokenizer && !texts.count("tokenizer_config.json"))
        texts["tokenizer_config.json"] = hf_tokenizer_config_json(md);

    // Refuse before writing anything, so a refusal leaves no half-written folder.
    if (!params.overwrite) {
        for (const auto& [name, text] : texts)
            if (fs::exists(folder / name, ec))
                fail(ErrorCode::invalid_argument, "{}: already exists (pass --force to overwrite it)",
                     (folder / name).string());
        if (fs::exists(folder / "model.safetensors", ec))
            fail(ErrorCode::invalid_argument, "{}: already exists (pass --force to overwrite it)",
                 (folder / "model.safetensors").string());
    }
    fs::create_directories(folder, ec);
    if (ec) fail(ErrorCode::io, "{}: cannot create the folder: {}", folder.string(), ec.message());

    const bool permute = md.config.architecture == "llama" && md.rope_type == "normal";
    AtomicFile weights(folder / "model.safetensors", params.overwrite);
    const uint64_t header_size = header.size();
    weights.write(&header_size, 8);
    weights.write(header.data(), header.size());
    std::vector<std::byte> buffer;
    TypeCounter counts;
    size_t done = 0;
    for (const Out& o : tensors) {
        buffer.resize(o.nbytes);
        convert_tensor(*o.view, o.type, buffer);
        const std::string& n = o.view->name;
        const int64_t heads = !permute ? 0
                              : n.ends_with("attn_q.weight") || n.ends_with("attn_q.bias") ? md.config.num_heads
                              : n.ends_with("attn_k.weight") || n.ends_with("attn_k.bias") ? md.config.num_kv_heads
                                                                                            : 0;
        if (heads > 0)
            permute_rope_rows(buffer, o.view->shape.size() == 1 ? o.view->shape[0] : o.view->rows(), heads, false);
        weights.write(buffer.data(), buffer.size());
        counts.add(o.type);
        done += o.nbytes;
        if (params.progress) params.progress(done, offset, o.name);
    }
    const size_t file_bytes = weights.written();
    weights.commit();
    for (const auto& [name, text] : texts) write_text(folder / name, text, params.overwrite);
    return counts.report(folder, file_bytes);
}

}  // namespace apr::convert
