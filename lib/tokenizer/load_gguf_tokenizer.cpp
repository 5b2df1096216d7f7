// Reads the `tokenizer.ggml.*` metadata of a GGUF file (as llama.cpp's
// converter writes it) into a TokenizerSpec.
#include <variant>

#include "core/fail.hpp"
#include "tokenizer/tokenizer_spec.hpp"

namespace apr::tokenizer {
namespace {

const MetaValue* find(const Metadata& metadata, std::string_view key) {
    const auto it = metadata.find(key);
    return it == metadata.end() ? nullptr : &it->second;
}

std::optional<int64_t> as_int(const MetaValue& v) {
    if (const auto* u = std::get_if<uint64_t>(&v.value)) {
        if (*u > uint64_t(INT64_MAX)) return std::nullopt;
        return static_cast<int64_t>(*u);
    }
    if (const auto* i = std::get_if<int64_t>(&v.value)) return *i;
    return std::nullopt;
}

const MetaArray& array_of(const Metadata& metadata, std::string_view key, std::string_view source) {
    const MetaValue* v = find(metadata, key);
    if (!v) fail(ErrorCode::bad_format, "{}: metadata '{}' is missing", source, key);
    const auto* a = std::get_if<MetaArray>(&v->value);
    if (!a) fail(ErrorCode::bad_format, "{}: metadata '{}' is not an array", source, key);
    return *a;
}

std::string_view string_at(const MetaArray& array, size_t i, std::string_view key, std::string_view source) {
    const auto* s = std::get_if<std::string>(&array[i].value);
    if (!s) fail(ErrorCode::bad_format, "{}: metadata '{}'[{}] is not a string", source, key, i);
    return *s;
}

std::optional<int32_t> token_id(const Metadata& metadata, std::string_view key, size_t vocab_size,
                                std::string_view source) {
    const MetaValue* v = find(metadata, key);
    if (!v) return std::nullopt;
    const auto id = as_int(*v);
    if (!id) fail(ErrorCode::bad_format, "{}: metadata '{}' is not an integer", source, key);
    // llama.cpp writes -1 (as uint32 0xFFFFFFFF) for "none".
    if (*id == -1 || *id == 0xFFFFFFFF) return std::nullopt;
    if (*id < 0 || size_t(*id) >= vocab_size)
        fail(ErrorCode::bad_format, "{}: metadata '{}' = {} is outside the vocabulary of {} tokens", source, key, *id,
             vocab_size);
    return static_cast<int32_t>(*id);
}

}  // namespace

TokenizerSpec parse_gguf_tokenizer(const Metadata& metadata, std::string_view source) {
    TokenizerSpec spec;
    spec.source = std::string(source);

    const MetaValue* model = find(metadata, "tokenizer.ggml.model");
    if (!model) fail(ErrorCode::not_found, "{}: no tokenizer in the metadata ('tokenizer.ggml.model' is missing)", source);
    const auto* model_name = std::get_if<std::string>(&model->value);
    if (!model_name) fail(ErrorCode::bad_format, "{}: metadata 'tokenizer.ggml.model' is not a string", source);
    if (*model_name != "gpt2")
        fail(ErrorCode::unsupported, "{}: tokenizer model '{}' is not supported (only 'gpt2', byte-level BPE)", source,
             *model_name);

    std::string pre_name = "default";
    if (const MetaValue* pre = find(metadata, "tokenizer.ggml.pre")) {
        const auto* s = std::get_if<std::string>(&pre->value);
        if (!s) fail(ErrorCode::bad_format, "{}: metadata 'tokenizer.ggml.pre' is not a string", source);
        pre_name = *s;
    }
    const auto pre = pre_tokenizer_from_gguf_name(pre_name);
    if (!pre) fail(ErrorCode::unsupported, "{}: pre-tokenizer '{}' (tokenizer.ggml.pre) is not supported", source, pre_name);
    spec.pre_tokenizer = *pre;
    // What the Hugging Face tokenizers of these families do beyond the regex.
    spec.nfc = *pre == PreTokenizerKind::qwen2;
    spec.ignore_merges = *pre == PreTokenizerKind::llama3;

    const MetaArray& tokens = array_of(metadata, "tokenizer.ggml.tokens", source);
    spec.pieces.reserve(tokens.size());
    for (size_t i = 0; i < tokens.size(); ++i)
        spec.pieces.emplace_back(string_at(tokens, i, "tokenizer.ggml.tokens", source));

    spec.kinds.assign(tokens.size(), TokenKind::normal);
    if (find(metadata, "tokenizer.ggml.token_type")) {
        const MetaArray& types = array_of(metadata, "tokenizer.ggml.token_type", source);
        if (types.size() != tokens.size())
            fail(ErrorCode::bad_format, "{}: {} token types for {} tokens", source, types.size(), tokens.size());
        for (size_t i = 0; i < types.size(); ++i) {
            const auto type = as_int(types[i]);
            if (!type || *type < 1 || *type > 6)
                fail(ErrorCode::bad_format, "{}: metadata 'tokenizer.ggml.token_type'[{}] is not a token type (1..6)",
                     source, i);
            spec.kinds[i] = static_cast<TokenKind>(*type);
        }
    }

    if (find(metadata, "tokenizer.ggml.merges")) {
        const MetaArray& merges = array_of(metadata, "tokenizer.ggml.merges", source);
        spec.merges.reserve(merges.size());
        for (size_t i = 0; i < merges.size(); ++i) {
            const std::string_view text = string_at(merges, i, "tokenizer.ggml.merges", source);
            const size_t space = text.find(' ', 1);
            if (space == std::string_view::npos)
                fail(ErrorCode::bad_format, "{}: metadata 'tokenizer.ggml.merges'[{}] is not two tokens", source, i);
            spec.merges.emplace_back(text.substr(0, space), text.substr(space + 1));
        }
    }

    spec.bos = token_id(metadata, "tokenizer.ggml.bos_token_id", tokens.size(), source);
    spec.eos = token_id(metadata, "tokenizer.ggml.eos_token_id", tokens.size(), source);
    spec.pad = token_id(metadata, "tokenizer.ggml.padding_token_id", tokens.size(), source);
    // Llama 3 expects <|begin_of_text|>; converted files normally say so explicitly.
    spec.add_bos = spec.pre_tokenizer == PreTokenizerKind::llama3;
    if (const MetaValue* add_bos = find(metadata, "tokenizer.ggml.add_bos_token")) {
        const auto* b = std::get_if<bool>(&add_bos->value);
        if (!b) fail(ErrorCode::bad_format, "{}: metadata 'tokenizer.ggml.add_bos_token' is not a boolean", source);
        spec.add_bos = *b;
    }
    return spec;
}

}  // namespace apr::tokenizer
