#include "convert/source_description.hpp"

#include <array>

#include "apr/chat_template.hpp"
#include "apr/version.hpp"
#include "core/fail.hpp"
#include "core/read_file.hpp"
#include "core/sha256.hpp"
#include "tokenizer/tokenizer_spec.hpp"

namespace apr::convert {
namespace {

namespace fs = std::filesystem;
using formats::AprMetadata;
using formats::AprTokenizer;

// The Hugging Face text files an APR file keeps verbatim, so exporting to a
// folder gives them back byte for byte.
constexpr std::array<std::string_view, 7> kHfFiles = {
    "config.json",        "generation_config.json", "tokenizer.json",     "tokenizer_config.json",
    "special_tokens_map.json", "chat_template.jinja", "chat_template.json"};

std::optional<int32_t> id_of(const ModelFile& file, std::string_view key) {
    const MetaValue* v = file.find_metadata(key);
    if (!v) return std::nullopt;
    const auto id = meta_int(*v);
    if (!id || *id < 0 || *id >= (int64_t{1} << 31)) return std::nullopt;
    return static_cast<int32_t>(*id);
}

std::vector<std::string> strings_of(const ModelFile& file, std::string_view key) {
    std::vector<std::string> out;
    const MetaValue* v = file.find_metadata(key);
    const MetaArray* a = v ? meta_array(*v) : nullptr;
    if (!a) return out;
    out.reserve(a->size());
    for (const MetaValue& item : *a) {
        const std::string* s = meta_string(item);
        if (!s) fail(ErrorCode::bad_format, "{}: metadata '{}' holds a non-string", file.path().string(), key);
        out.push_back(*s);
    }
    return out;
}

std::optional<AprTokenizer> gguf_tokenizer(const ModelFile& file) {
    const MetaValue* model = file.find_metadata("tokenizer.ggml.model");
    if (!model || !meta_string(*model)) return std::nullopt;
    AprTokenizer t;
    t.model = *meta_string(*model);
    if (const MetaValue* pre = file.find_metadata("tokenizer.ggml.pre"); pre && meta_string(*pre))
        t.pre_type = *meta_string(*pre);
    t.vocabulary = strings_of(file, "tokenizer.ggml.tokens");
    t.merges = strings_of(file, "tokenizer.ggml.merges");
    if (const MetaValue* types = file.find_metadata("tokenizer.ggml.token_type"); types && meta_array(*types))
        for (const MetaValue& item : *meta_array(*types)) {
            const auto type = meta_int(item);
            if (!type || *type < 1 || *type > 6)
                fail(ErrorCode::bad_format, "{}: metadata 'tokenizer.ggml.token_type' holds {}, not a token type 1..6",
                     file.path().string(), type ? *type : -1);
            t.token_type.push_back(static_cast<int32_t>(*type));
        }
    auto in_vocab = [&](std::optional<int32_t> id) {
        return id && static_cast<size_t>(*id) < t.vocabulary.size() ? id : std::nullopt;
    };
    t.bos_token_id = in_vocab(id_of(file, "tokenizer.ggml.bos_token_id"));
    t.eos_token_id = in_vocab(id_of(file, "tokenizer.ggml.eos_token_id"));
    t.pad_token_id = in_vocab(id_of(file, "tokenizer.ggml.padding_token_id"));
    if (const MetaValue* add = file.find_metadata("tokenizer.ggml.add_bos_token"); add && meta_bool(*add))
        t.add_bos_token = *meta_bool(*add);
    return t;
}

std::optional<AprTokenizer> hf_tokenizer(const ModelFile& file, const fs::path& folder) {
    std::error_code ec;
    const fs::path json_path = folder / "tokenizer.json";
    if (!fs::is_regular_file(json_path, ec)) return std::nullopt;
    const fs::path config_path = folder / "tokenizer_config.json";
    const std::string config = fs::is_regular_file(config_path, ec) ? read_whole_file(config_path) : std::string();
    const tokenizer::TokenizerSpec spec =
        tokenizer::parse_tokenizer_json(read_whole_file(json_path), config, json_path.string());
    const auto kind = spec.pre_tokenizer;
    auto refuse = [&](std::string_view what) {
        fail(ErrorCode::unsupported, "{}: {}, which an APR tokenizer (GGUF-style fields) cannot express",
             json_path.string(), what);
    };
    if (spec.nfc != (kind == tokenizer::PreTokenizerKind::qwen2)) refuse("its NFC normalization differs from its family's");
    if (spec.ignore_merges != (kind == tokenizer::PreTokenizerKind::llama3)) refuse("its ignore_merges setting differs from its family's");
    if (spec.add_prefix_space) refuse("it adds a prefix space");
    for (size_t i = 0; i < spec.added_options.size(); ++i)
        if (spec.added_options[i].lstrip || spec.added_options[i].rstrip)
            refuse(fmt::format("added token {} strips whitespace (lstrip/rstrip)", i));

    AprTokenizer t;
    t.model = "gpt2";
    t.pre_type = std::string(tokenizer::pre_tokenizer_name(kind));
    // llama.cpp's converter pads the vocabulary to the embedding's rows with
    // "[PADn]" tokens of type unused; do the same so the GGUF export matches.
    const size_t size = std::max<size_t>(spec.pieces.size(), static_cast<size_t>(file.config().vocab_size));
    for (size_t id = 0; id < size; ++id) {
        const bool real = id < spec.pieces.size() && !spec.pieces[id].empty();
        t.vocabulary.push_back(real ? spec.pieces[id] : fmt::format("[PAD{}]", id));
        t.token_type.push_back(real ? static_cast<int32_t>(spec.kinds[id]) : 5);
    }
    for (const auto& [a, b] : spec.merges) t.merges.push_back(a + " " + b);
    t.bos_token_id = spec.bos;
    t.eos_token_id = spec.eos;
    t.pad_token_id = spec.pad;
    t.add_bos_token = spec.add_bos;
    return t;
}

std::string weights_sha256(const ModelFile& file) {
    std::error_code ec;
    if (!fs::is_directory(file.path(), ec)) return sha256_file_hex(file.path());
    for (const char* name : {"model.safetensors", "model.safetensors.index.json"})
        if (fs::is_regular_file(file.path() / name, ec)) return sha256_file_hex(file.path() / name);
    return {};
}

}  // namespace

fs::path hf_folder(const ModelFile& file) {
    std::error_code ec;
    return fs::is_directory(file.path(), ec) ? file.path() : file.path().parent_path();
}

AprMetadata describe_source(const ModelFile& file, const std::string& conversion) {
    if (file.format() == FileFormat::apr) {
        AprMetadata md = formats::read_apr_metadata(file.path());
        md.provenance.conversion += (md.provenance.conversion.empty() ? "" : ", then ") + conversion;
        md.provenance.tool = fmt::format("libapr {}", version_string());
        return md;
    }
    AprMetadata md;
    md.config = file.config();
    md.special_tokens = file.tokenizer_summary().special_tokens;
    md.provenance.source = file.path().filename().string();
    md.provenance.source_format = std::string(file_format_name(file.format()));
    md.provenance.sha256 = weights_sha256(file);
    md.provenance.tool = fmt::format("libapr {}", version_string());
    md.provenance.conversion = conversion;
    if (file.format() == FileFormat::gguf) {
        // llama.cpp's converter permutes Llama q/k rows for interleaved pairs.
        md.rope_type = file.config().architecture == "llama" ? "normal" : "neox";
        md.tokenizer = gguf_tokenizer(file);
        if (const MetaValue* t = file.find_metadata("tokenizer.chat_template"); t && meta_string(*t))
            md.chat_template = *meta_string(*t);
        for (const auto& [key, value] : file.metadata())
            if (!formats::is_tokenizer_key(key)) md.source_metadata[key] = value;
        return md;
    }
    const fs::path folder = hf_folder(file);
    md.tokenizer = hf_tokenizer(file, folder);
    std::error_code ec;
    for (std::string_view name : kHfFiles)
        if (fs::is_regular_file(folder / name, ec)) md.source_files[std::string(name)] = read_whole_file(folder / name);
    const bool has_template_file = md.source_files.count("chat_template.jinja") ||
                                   md.source_files.count("chat_template.json") ||
                                   md.source_files.count("tokenizer_config.json");
    if (has_template_file) {
        const ChatTemplate tmpl = ChatTemplate::from_hf_path(folder);
        if (!tmpl.is_fallback()) md.chat_template = tmpl.source();
    }
    return md;
}

}  // namespace apr::convert
