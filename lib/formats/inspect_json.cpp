#include "formats/inspect_json.hpp"

#include <fmt/format.h>

#include <cmath>

#include "apr/model_file.hpp"
#include "formats/byte_cursor.hpp"

namespace apr::formats {

void append_optional_id(std::string& out, std::string_view key, const std::optional<int32_t>& id) {
    out += fmt::format(",\"{}\":{}", key, id ? std::to_string(*id) : "null");
}

std::string json_quote(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 2);
    out += '"';
    for (size_t i = 0; i < text.size();) {
        const char c = text[i];
        switch (c) {
            case '"': out += "\\\""; ++i; continue;
            case '\\': out += "\\\\"; ++i; continue;
            case '\n': out += "\\n"; ++i; continue;
            case '\r': out += "\\r"; ++i; continue;
            case '\t': out += "\\t"; ++i; continue;
            default: break;
        }
        if (static_cast<unsigned char>(c) < 0x20) {
            out += fmt::format("\\u{:04x}", static_cast<unsigned>(static_cast<unsigned char>(c)));
            ++i;
            continue;
        }
        const size_t len = utf8_sequence_length(text, i);
        if (len == 0) {
            out += "\\ufffd";
            ++i;
        } else {
            out.append(text.substr(i, len));
            i += len;
        }
    }
    out += '"';
    return out;
}

std::string json_number_text(double value) {
    if (!std::isfinite(value)) return "null";
    return fmt::format("{}", value);
}

}  // namespace apr::formats

namespace apr {

std::string inspect_json(const ModelFile& file) {
    using formats::json_quote;
    const ModelConfig& c = file.config();
    std::string out = "{";
    out += "\"format\":" + json_quote(file_format_name(file.format()));
    out += ",\"path\":" + json_quote(file.path().string());
    out += ",\"architecture\":" + json_quote(c.architecture);
    out += fmt::format(
        ",\"config\":{{\"hidden_size\":{},\"num_layers\":{},\"num_heads\":{},\"num_kv_heads\":{},\"head_dim\":{},"
        "\"intermediate_size\":{},\"vocab_size\":{},\"rope_theta\":{},\"rms_norm_eps\":{},\"tied_embeddings\":{},"
        "\"attention_bias\":{},\"context_length\":{}",
        c.hidden_size, c.num_layers, c.num_heads, c.num_kv_heads, c.head_dim, c.intermediate_size, c.vocab_size,
        formats::json_number_text(c.rope_theta), formats::json_number_text(c.rms_norm_eps), c.tied_embeddings,
        c.attention_bias, c.context_length);
    formats::append_optional_id(out, "bos_token_id", c.bos_token_id);
    out += ",\"eos_token_ids\":[";
    for (size_t i = 0; i < c.eos_token_ids.size(); ++i) out += (i ? "," : "") + std::to_string(c.eos_token_ids[i]);
    out += "]";
    formats::append_optional_id(out, "pad_token_id", c.pad_token_id);
    if (!c.torch_dtype.empty()) out += ",\"torch_dtype\":" + json_quote(c.torch_dtype);
    if (!c.rope_type.empty()) out += ",\"rope_type\":" + json_quote(c.rope_type);
    out += "}";

    const TokenizerSummary& t = file.tokenizer_summary();
    out += ",\"tokenizer\":{\"model\":" + json_quote(t.model) + ",\"pre_tokenizer\":" + json_quote(t.pre_tokenizer) +
           fmt::format(",\"vocab_size\":{},\"special_tokens\":{{", t.vocab_size);
    for (size_t i = 0; i < t.special_tokens.size(); ++i)
        out += (i ? "," : "") + json_quote(t.special_tokens[i].first) + ":" + std::to_string(t.special_tokens[i].second);
    out += fmt::format("}},\"chat_template\":{}}}", t.has_chat_template);

    out += ",\"tensors\":[";
    for (size_t i = 0; i < file.tensors().size(); ++i) {
        const TensorView& v = file.tensors()[i];
        out += (i ? "," : "");
        out += "{\"name\":" + json_quote(v.name);
        if (v.source_name != v.name) out += ",\"source_name\":" + json_quote(v.source_name);
        out += ",\"type\":" + json_quote(dtype_name(v.dtype)) + ",\"shape\":[";
        for (size_t d = 0; d < v.shape.size(); ++d) out += (d ? "," : "") + std::to_string(v.shape[d]);
        out += fmt::format("],\"bytes\":{}}}", v.nbytes);
    }
    out += fmt::format("],\"tensor_count\":{}}}", file.tensors().size());
    return out;
}

}  // namespace apr
