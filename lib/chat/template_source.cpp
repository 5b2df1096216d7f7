// Where a chat template comes from: GGUF metadata, or a Hugging Face
// tokenizer folder (chat_template.jinja, chat_template.json,
// tokenizer_config.json), with ChatML as the fallback.
#include <simdjson.h>

#include "apr/hub.hpp"
#include "apr/model_file.hpp"
#include "chat/chat_template_impl.hpp"
#include "chat/parser.hpp"
#include "core/fail.hpp"
#include "core/read_file.hpp"

namespace apr {

namespace {

namespace fs = std::filesystem;

struct HfTemplate {
    std::string source;  // empty: none found
    std::string bos_token;
    std::string eos_token;
    std::string warning;
};

// A special token in tokenizer_config.json: a string, or an AddedToken
// object {"content": "...", ...}; null means none.
std::string special_token(simdjson::dom::object config, std::string_view key) {
    simdjson::dom::element value;
    if (config[key].get(value)) return {};
    std::string_view text;
    if (!value.get_string().get(text)) return std::string(text);
    simdjson::dom::object token;
    if (!value.get_object().get(token) && !token["content"].get_string().get(text)) return std::string(text);
    return {};
}

// `chat_template` is a string, or a list of {"name", "template"} entries of
// which "default" is used (as transformers does without a template name).
std::string template_field(simdjson::dom::object config, const fs::path& path, std::string& warning) {
    simdjson::dom::element value;
    if (config["chat_template"].get(value) || value.is_null()) return {};
    std::string_view text;
    if (!value.get_string().get(text)) return std::string(text);
    simdjson::dom::array entries;
    if (value.get_array().get(entries))
        fail(ErrorCode::bad_format, "{}: chat_template: expected a string or a list of {{name, template}}", path.string());
    std::string first_name, first_template, chosen;
    bool found_default = false;
    size_t index = 0;
    for (simdjson::dom::element entry : entries) {
        std::string_view name, body;
        if (entry["name"].get_string().get(name) || entry["template"].get_string().get(body))
            fail(ErrorCode::bad_format, "{}: chat_template[{}]: expected an object with string 'name' and 'template'",
                 path.string(), index);
        if (index == 0) {
            first_name = std::string(name);
            first_template = std::string(body);
        }
        if (name == "default") {
            chosen = std::string(body);
            found_default = true;
        }
        ++index;
    }
    if (found_default) return chosen;
    if (index == 0) return {};
    warning = fmt::format("{}: no chat template named 'default'; using '{}'", path.string(), first_name);
    return first_template;
}

void read_tokenizer_config(const fs::path& path, HfTemplate& out, bool take_template) {
    simdjson::dom::parser parser;
    simdjson::padded_string text(read_whole_file(path));
    simdjson::dom::object config;
    if (auto error = parser.parse(text).get(config))
        fail(ErrorCode::bad_format, "{}: not a JSON object: {}", path.string(), simdjson::error_message(error));
    out.bos_token = special_token(config, "bos_token");
    out.eos_token = special_token(config, "eos_token");
    if (take_template && out.source.empty()) out.source = template_field(config, path, out.warning);
}

HfTemplate load_hf(const fs::path& path) {
    HfTemplate found;
    std::error_code ec;
    if (!fs::exists(path, ec)) fail(ErrorCode::not_found, "{}: no such file or folder", path.string());
    const bool is_dir = fs::is_directory(path, ec);
    const fs::path dir = is_dir ? path : path.parent_path();
    const fs::path config = dir / "tokenizer_config.json";
    if (!is_dir) {
        if (path.extension() == ".jinja") {
            found.source = read_whole_file(path);
        } else if (path.filename() == "tokenizer_config.json") {
            read_tokenizer_config(path, found, true);
            return found;
        } else if (path.extension() == ".json") {  // chat_template.json (processor style)
            simdjson::dom::parser parser;
            simdjson::padded_string text(read_whole_file(path));
            simdjson::dom::object object;
            if (auto error = parser.parse(text).get(object))
                fail(ErrorCode::bad_format, "{}: not a JSON object: {}", path.string(), simdjson::error_message(error));
            found.source = template_field(object, path, found.warning);
            if (found.source.empty()) fail(ErrorCode::bad_format, "{}: has no 'chat_template'", path.string());
        } else {
            fail(ErrorCode::invalid_argument, "{}: expected a folder, tokenizer_config.json, a .json or a .jinja file",
                 path.string());
        }
        if (fs::exists(config, ec)) read_tokenizer_config(config, found, false);
        return found;
    }
    if (fs::exists(dir / "chat_template.jinja", ec)) {
        found.source = read_whole_file(dir / "chat_template.jinja");
    } else if (fs::exists(dir / "chat_template.json", ec)) {
        return load_hf(dir / "chat_template.json");
    }
    if (fs::exists(config, ec)) read_tokenizer_config(config, found, true);
    return found;
}

// The text of token `id` from GGUF's tokenizer.ggml.tokens.
std::string gguf_token(const ModelFile& file, std::string_view id_key) {
    const MetaValue* id = file.find_metadata(id_key);
    const MetaValue* tokens = file.find_metadata("tokenizer.ggml.tokens");
    if (!id || !tokens) return {};
    const auto index = meta_int(*id);
    const MetaArray* list = meta_array(*tokens);
    if (!index || !list || *index < 0 || static_cast<uint64_t>(*index) >= list->size()) return {};
    const std::string* text = meta_string((*list)[static_cast<size_t>(*index)]);
    return text ? *text : std::string();
}

// Parses `source`; a missing or unusable template becomes ChatML with a
// warning, so a model whose template uses an unsupported Jinja feature can
// still chat (the warning carries the template's error and position).
std::shared_ptr<ChatTemplate::Impl> build(std::string source, const std::string& where, std::string bos,
                                          std::string eos, std::string warning) {
    auto impl = std::make_shared<ChatTemplate::Impl>();
    if (!source.empty()) {
        try {
            impl->parsed = chat::parse_template(source);
            impl->source = std::move(source);
            impl->bos_token = std::move(bos);
            impl->eos_token = std::move(eos);
            impl->warning = std::move(warning);
            return impl;
        } catch (const Error& e) {
            warning = fmt::format("{}: the chat template cannot be used ({}); using ChatML", where, e.what());
        }
    } else {
        warning = fmt::format("{}: no chat template found; using ChatML", where);
    }
    impl->source = ChatTemplate::chatml().source();
    impl->parsed = chat::parse_template(impl->source);
    impl->bos_token = std::move(bos);
    impl->eos_token = eos.empty() ? "<|im_end|>" : std::move(eos);
    impl->warning = std::move(warning);
    impl->fallback = true;
    return impl;
}

}  // namespace

ChatTemplate ChatTemplate::from_hf_path(const std::filesystem::path& source) {
    const std::filesystem::path path = hub::resolve_source(source);  // hf:// URIs: the cached download
    HfTemplate found = load_hf(path);
    return ChatTemplate(build(std::move(found.source), path.string(), std::move(found.bos_token),
                              std::move(found.eos_token), std::move(found.warning)));
}

ChatTemplate ChatTemplate::from_model_file(const ModelFile& file) {
    // APR files keep the template under the same key as GGUF.
    if (file.format() != FileFormat::gguf && file.format() != FileFormat::apr) {
        std::error_code ec;
        const fs::path dir = fs::is_directory(file.path(), ec) ? file.path() : file.path().parent_path();
        return from_hf_path(dir);
    }
    const MetaValue* value = file.find_metadata("tokenizer.chat_template");
    const std::string* source = value ? meta_string(*value) : nullptr;
    return ChatTemplate(build(source ? *source : std::string(), file.path().string() + ": tokenizer.chat_template",
                              gguf_token(file, "tokenizer.ggml.bos_token_id"),
                              gguf_token(file, "tokenizer.ggml.eos_token_id"), {}));
}

}  // namespace apr
