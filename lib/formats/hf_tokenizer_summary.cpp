#include "formats/hf_tokenizer_summary.hpp"

#include <map>
#include <vector>

#include "core/fail.hpp"
#include "formats/json_file.hpp"

namespace apr::formats {
namespace {

// The Split regexes of well-known byte-level BPE pre-tokenizers, named as
// llama.cpp names them in tokenizer.ggml.pre.
constexpr std::string_view kQwen2Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kLlama3Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

struct PreTokenizerFacts {
    std::vector<std::string> types;  // "Split", "ByteLevel", ... in order
    std::string split_regex;
    bool byte_level = false;
    bool byte_level_regex = false;  // ByteLevel with use_regex: GPT-2's own split
};

void collect_pre_tokenizer(simdjson::dom::element element, PreTokenizerFacts& facts, int depth) {
    simdjson::dom::object object;
    if (depth > 8 || element.get_object().get(object) != simdjson::SUCCESS) return;
    std::string_view type;
    if (object.at_key("type").get(type) != simdjson::SUCCESS) return;
    facts.types.emplace_back(type);
    if (type == "Sequence") {
        simdjson::dom::array items;
        if (object.at_key("pretokenizers").get(items) == simdjson::SUCCESS)
            for (simdjson::dom::element item : items) collect_pre_tokenizer(item, facts, depth + 1);
    } else if (type == "Split") {
        std::string_view regex;
        if (object.at_key("pattern").at_key("Regex").get(regex) == simdjson::SUCCESS && facts.split_regex.empty())
            facts.split_regex = std::string(regex);
    } else if (type == "ByteLevel") {
        facts.byte_level = true;
        bool use_regex = true;
        if (object.at_key("use_regex").get(use_regex) != simdjson::SUCCESS) use_regex = true;  // the default
        facts.byte_level_regex = facts.byte_level_regex || use_regex;
    }
}

std::string pre_tokenizer_name(const PreTokenizerFacts& facts) {
    if (facts.split_regex == kQwen2Regex) return "qwen2";
    if (facts.split_regex == kLlama3Regex) return "llama-bpe";
    if (facts.split_regex.empty() && facts.byte_level_regex) return "gpt2";
    if (facts.types.empty()) return "";
    std::string joined;
    for (const auto& t : facts.types) joined += (joined.empty() ? "" : "+") + t;
    return joined;  // e.g. "Sequence+Split+ByteLevel" with an unrecognised regex
}

// tokenizer_config.json names special tokens as a string, {"content": ...} or null.
std::optional<std::string> token_text(simdjson::dom::object config, std::string_view key) {
    simdjson::dom::element element;
    if (config.at_key(key).get(element) != simdjson::SUCCESS) return std::nullopt;
    std::string_view text;
    if (element.get_string().get(text) == simdjson::SUCCESS) return std::string(text);
    if (element.at_key("content").get(text) == simdjson::SUCCESS) return std::string(text);
    return std::nullopt;
}

}  // namespace

TokenizerSummary tokenizer_summary_from_hf(const std::filesystem::path& folder) {
    TokenizerSummary summary;
    std::map<std::string, int32_t, std::less<>> ids_by_text;  // added tokens, then vocab lookups
    std::error_code ec;
    const auto tokenizer_path = folder / "tokenizer.json";
    std::optional<JsonDocument> tokenizer;
    if (std::filesystem::exists(tokenizer_path, ec)) {
        tokenizer.emplace(JsonDocument::load(tokenizer_path));
        const std::string file = tokenizer_path.string();
        const simdjson::dom::object root = tokenizer->root_object();
        const auto model = json_object(root, "model", file);
        if (!model) fail(ErrorCode::bad_format, "{}: no model", file);
        const std::string type = json_string(*model, "type", file + ": model").value_or("");
        PreTokenizerFacts facts;
        simdjson::dom::element pre;
        if (root.at_key("pre_tokenizer").get(pre) == simdjson::SUCCESS) collect_pre_tokenizer(pre, facts, 0);
        summary.pre_tokenizer = pre_tokenizer_name(facts);
        const bool byte_fallback = json_bool(*model, "byte_fallback", file + ": model").value_or(false);
        if (type == "BPE")
            summary.model = byte_fallback && !facts.byte_level ? "llama" : "gpt2";
        else if (type == "WordPiece")
            summary.model = "bert";
        else if (type == "Unigram")
            summary.model = "t5";
        else
            summary.model = type;

        // Vocabulary size: distinct ids of model.vocab and added_tokens.
        std::vector<bool> seen;
        const auto mark = [&](int64_t id) {
            if (id < 0 || id >= (int64_t{1} << 24))
                fail(ErrorCode::bad_format, "{}: token id {} is out of range", file, id);
            if (static_cast<size_t>(id) >= seen.size()) seen.resize(static_cast<size_t>(id) + 1, false);
            if (!seen[static_cast<size_t>(id)]) {
                seen[static_cast<size_t>(id)] = true;
                ++summary.vocab_size;
            }
        };
        simdjson::dom::object vocab;
        if (model->at_key("vocab").get(vocab) == simdjson::SUCCESS) {
            for (const auto entry : vocab) {
                int64_t id;
                if (entry.value.get_int64().get(id) != simdjson::SUCCESS)
                    fail(ErrorCode::bad_format, "{}: model.vocab['{}'] must be an integer id", file, entry.key);
                mark(id);
            }
        }
        if (const auto added = json_array(root, "added_tokens", file)) {
            for (simdjson::dom::element token : *added) {
                int64_t id;
                std::string_view content;
                if (token.at_key("id").get(id) != simdjson::SUCCESS ||
                    token.at_key("content").get(content) != simdjson::SUCCESS)
                    fail(ErrorCode::bad_format, "{}: every added_tokens entry needs an id and a content", file);
                mark(id);
                ids_by_text.emplace(std::string(content), static_cast<int32_t>(id));
            }
        }
        // Special tokens that are plain vocabulary entries ("</s>" in some models).
        const auto lookup_vocab = [&](const std::string& text) -> std::optional<int32_t> {
            int64_t id;
            if (model->at_key("vocab").at_key(text).get(id) == simdjson::SUCCESS) return static_cast<int32_t>(id);
            return std::nullopt;
        };
        const auto config_path = folder / "tokenizer_config.json";
        if (std::filesystem::exists(config_path, ec)) {
            const JsonDocument config_doc = JsonDocument::load(config_path);
            const simdjson::dom::object config = config_doc.root_object();
            for (const char* role : {"bos", "eos", "pad", "unk"}) {
                const auto text = token_text(config, std::string(role) + "_token");
                if (!text) continue;
                std::optional<int32_t> id;
                if (const auto it = ids_by_text.find(*text); it != ids_by_text.end()) id = it->second;
                if (!id) id = lookup_vocab(*text);
                if (id) summary.special_tokens.emplace_back(role, *id);
            }
            simdjson::dom::element chat_template;
            summary.has_chat_template =
                config.at_key("chat_template").get(chat_template) == simdjson::SUCCESS && !chat_template.is_null();
        }
    } else {
        // No tokenizer.json: still report a chat template from tokenizer_config.json.
        const auto config_path = folder / "tokenizer_config.json";
        if (std::filesystem::exists(config_path, ec)) {
            const JsonDocument config_doc = JsonDocument::load(config_path);
            simdjson::dom::element chat_template;
            summary.has_chat_template = config_doc.root_object().at_key("chat_template").get(chat_template) ==
                                            simdjson::SUCCESS &&
                                        !chat_template.is_null();
        }
    }
    if (!summary.has_chat_template) summary.has_chat_template = std::filesystem::exists(folder / "chat_template.jinja", ec);
    return summary;
}

}  // namespace apr::formats
