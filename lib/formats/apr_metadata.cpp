#include "formats/apr_metadata.hpp"

#include <array>
#include <cstring>
#include <limits>

#include "core/fail.hpp"
#include "core/mapped_file.hpp"
#include "formats/apr_reader.hpp"
#include "formats/byte_cursor.hpp"
#include "formats/json_file.hpp"
#include "formats/json_writer.hpp"
#include "formats/loaded_model_file.hpp"

namespace apr::formats {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

constexpr int64_t kMaxHyperparameter = int64_t{1} << 31;

constexpr std::array<std::string_view, 13> kTypeNames = {"u8",  "i8",     "u16",   "i16", "u32", "i32", "f32",
                                                         "bool", "string", "array", "u64", "i64", "f64"};

std::optional<uint32_t> type_from_name(std::string_view name) {
    for (size_t i = 0; i < kTypeNames.size(); ++i)
        if (kTypeNames[i] == name) return static_cast<uint32_t>(i);
    return std::nullopt;
}

// ---- encoding ----

void encode_scalar(JsonWriter& w, uint32_t type, const MetaValue& v, std::string_view key) {
    switch (static_cast<MetaType>(type)) {
        case MetaType::float32: w.value_f32(static_cast<float>(*meta_float(v))); return;
        case MetaType::float64: w.value(*meta_float(v)); return;
        case MetaType::boolean: w.value(*meta_bool(v)); return;
        case MetaType::string: {
            const std::string& s = *meta_string(v);
            if (!is_valid_utf8(s))
                fail(ErrorCode::unsupported, "metadata '{}': the string is not UTF-8, which APR's JSON cannot hold",
                     key);
            w.value(s);
            return;
        }
        default:
            if (const auto* u = std::get_if<uint64_t>(&v.value)) w.value(*u);
            else if (const auto* i = std::get_if<int64_t>(&v.value)) w.value(*i);
            else fail(ErrorCode::internal, "metadata '{}': value does not match its type", key);
    }
}

void encode_array_items(JsonWriter& w, const MetaValue& v, std::string_view key);

void encode_typed(JsonWriter& w, const MetaValue& v, std::string_view key) {
    w.begin_object();
    w.key("type");
    w.value(kTypeNames.at(v.type));
    if (v.type == static_cast<uint32_t>(MetaType::array)) {
        w.key("element_type");
        w.value(kTypeNames.at(v.element_type));
        w.key("value");
        encode_array_items(w, v, key);
    } else {
        w.key("value");
        encode_scalar(w, v.type, v, key);
    }
    w.end_object();
}

void encode_array_items(JsonWriter& w, const MetaValue& v, std::string_view key) {
    w.begin_array();
    for (const MetaValue& item : *meta_array(v)) {
        if (v.element_type == static_cast<uint32_t>(MetaType::array)) {
            // Nested arrays keep their own element type.
            w.begin_object();
            w.key("element_type");
            w.value(kTypeNames.at(item.element_type));
            w.key("value");
            encode_array_items(w, item, key);
            w.end_object();
        } else {
            encode_scalar(w, v.element_type, item, key);
        }
    }
    w.end_array();
}

void optional_id(JsonWriter& w, std::string_view key, const std::optional<int32_t>& id) {
    w.key(key);
    if (id) w.value(*id);
    else w.null();
}

// ---- decoding ----

class Fields {
public:
    Fields(object o, std::string where) : o_(o), where_(std::move(where)) {}

    std::optional<element> get(std::string_view key) const {
        element e;
        if (o_.at_key(key).get(e) != simdjson::SUCCESS || e.is_null()) return std::nullopt;
        return e;
    }
    [[noreturn]] void wrong(std::string_view key, std::string_view what) const {
        fail(ErrorCode::bad_format, "{} '{}' must be {}", where_, key, what);
    }
    std::optional<int64_t> count(std::string_view key) const {
        const auto e = get(key);
        if (!e) return std::nullopt;
        int64_t v;
        if (e->get_int64().get(v) != simdjson::SUCCESS || v < 0 || v >= kMaxHyperparameter)
            wrong(key, "an integer in [0, 2^31)");
        return v;
    }
    std::optional<int32_t> token_id(std::string_view key) const {
        const auto v = count(key);
        return v ? std::optional<int32_t>(static_cast<int32_t>(*v)) : std::nullopt;
    }
    std::optional<double> number(std::string_view key) const {
        const auto e = get(key);
        if (!e) return std::nullopt;
        double v;
        if (e->get_double().get(v) != simdjson::SUCCESS) wrong(key, "a number");
        return v;
    }
    std::optional<bool> boolean(std::string_view key) const {
        const auto e = get(key);
        if (!e) return std::nullopt;
        bool v;
        if (e->get_bool().get(v) != simdjson::SUCCESS) wrong(key, "true or false");
        return v;
    }
    std::optional<std::string> text(std::string_view key) const {
        const auto e = get(key);
        if (!e) return std::nullopt;
        std::string_view v;
        if (e->get_string().get(v) != simdjson::SUCCESS) wrong(key, "a string");
        return std::string(v);
    }
    std::optional<array> list(std::string_view key) const {
        const auto e = get(key);
        if (!e) return std::nullopt;
        array v;
        if (e->get_array().get(v) != simdjson::SUCCESS) wrong(key, "an array");
        return v;
    }
    std::optional<object> obj(std::string_view key) const {
        const auto e = get(key);
        if (!e) return std::nullopt;
        object v;
        if (e->get_object().get(v) != simdjson::SUCCESS) wrong(key, "an object");
        return v;
    }
    std::vector<std::string> strings(std::string_view key) const {
        std::vector<std::string> out;
        if (const auto a = list(key)) {
            out.reserve(a->size());
            for (element e : *a) {
                std::string_view s;
                if (e.get_string().get(s) != simdjson::SUCCESS) wrong(key, "an array of strings");
                out.emplace_back(s);
            }
        }
        return out;
    }
    const std::string& where() const { return where_; }

private:
    object o_;
    std::string where_;
};

MetaValue decode_scalar(element e, uint32_t type, const std::string& where) {
    MetaValue v;
    v.type = type;
    auto bad = [&]() -> MetaValue {
        fail(ErrorCode::bad_format, "{}: value does not fit its type '{}'", where, kTypeNames.at(type));
    };
    switch (static_cast<MetaType>(type)) {
        case MetaType::float32:
        case MetaType::float64: {
            double d;
            if (e.get_double().get(d) != simdjson::SUCCESS) return bad();
            v.value = d;
            return v;
        }
        case MetaType::boolean: {
            bool b;
            if (e.get_bool().get(b) != simdjson::SUCCESS) return bad();
            v.value = b;
            return v;
        }
        case MetaType::string: {
            std::string_view s;
            if (e.get_string().get(s) != simdjson::SUCCESS) return bad();
            v.value = std::string(s);
            return v;
        }
        case MetaType::uint8:
        case MetaType::uint16:
        case MetaType::uint32:
        case MetaType::uint64: {
            uint64_t u;
            if (e.get_uint64().get(u) != simdjson::SUCCESS) return bad();
            const uint64_t max = type == 0 ? 0xFF : type == 2 ? 0xFFFF : type == 4 ? 0xFFFFFFFFu : ~uint64_t{0};
            if (u > max) return bad();
            v.value = u;
            return v;
        }
        default: {
            int64_t i;
            if (e.get_int64().get(i) != simdjson::SUCCESS) return bad();
            const int64_t max = type == 1 ? 0x7F : type == 3 ? 0x7FFF : type == 5 ? 0x7FFFFFFF
                                                                                  : std::numeric_limits<int64_t>::max();
            if (i > max || i < -max - 1) return bad();
            v.value = i;
            return v;
        }
    }
}

MetaValue decode_array(element items, uint32_t element_type, const std::string& where, int depth) {
    if (depth > 8) fail(ErrorCode::bad_format, "{}: arrays nest deeper than 8 levels", where);
    array a;
    if (items.get_array().get(a) != simdjson::SUCCESS) fail(ErrorCode::bad_format, "{}: 'value' must be an array", where);
    MetaValue v;
    v.type = static_cast<uint32_t>(MetaType::array);
    v.element_type = element_type;
    MetaArray out;
    out.reserve(a.size());
    for (element item : a) {
        if (element_type == static_cast<uint32_t>(MetaType::array)) {
            object o;
            if (item.get_object().get(o) != simdjson::SUCCESS)
                fail(ErrorCode::bad_format, "{}: a nested array must be an object {{element_type, value}}", where);
            Fields f(o, where);
            const auto name = f.text("element_type");
            const auto type = name ? type_from_name(*name) : std::nullopt;
            const auto value = f.get("value");
            if (!type || !value) fail(ErrorCode::bad_format, "{}: nested array needs a known 'element_type' and 'value'", where);
            out.push_back(decode_array(*value, *type, where, depth + 1));
        } else {
            out.push_back(decode_scalar(item, element_type, where));
        }
    }
    v.value = std::move(out);
    return v;
}

Metadata decode_source_metadata(object o, const std::string& where) {
    Metadata out;
    for (auto [key, value] : o) {
        const std::string at = fmt::format("{} 'source_metadata.{}'", where, std::string_view(key));
        object entry;
        if (value.get_object().get(entry) != simdjson::SUCCESS)
            fail(ErrorCode::bad_format, "{}: must be an object {{type, value}}", at);
        Fields f(entry, at);
        const auto type_name = f.text("type");
        const auto type = type_name ? type_from_name(*type_name) : std::nullopt;
        if (!type) fail(ErrorCode::bad_format, "{}: 'type' must be one of u8 ... f64, string, array", at);
        const auto v = f.get("value");
        if (!v) fail(ErrorCode::bad_format, "{}: 'value' is missing", at);
        if (*type == static_cast<uint32_t>(MetaType::array)) {
            const auto element_name = f.text("element_type");
            const auto element_type = element_name ? type_from_name(*element_name) : std::nullopt;
            if (!element_type) fail(ErrorCode::bad_format, "{}: 'element_type' must be a known type", at);
            out[std::string(key)] = decode_array(*v, *element_type, at, 0);
        } else {
            out[std::string(key)] = decode_scalar(*v, *type, at);
        }
    }
    return out;
}

void check_id(const std::optional<int32_t>& id, size_t vocab, std::string_view key, const std::string& where) {
    if (id && static_cast<size_t>(*id) >= vocab)
        fail(ErrorCode::bad_format, "{} 'tokenizer.{}' = {} is outside the vocabulary of {} tokens", where, key, *id,
             vocab);
}

AprTokenizer decode_tokenizer(object o, const std::string& where) {
    Fields f(o, where + " 'tokenizer':");
    AprTokenizer t;
    t.model = f.text("model").value_or("");
    t.pre_type = f.text("pre_type").value_or("");
    t.vocabulary = f.strings("vocabulary");
    t.merges = f.strings("merges");
    if (const auto types = f.list("token_type")) {
        for (element e : *types) {
            int64_t v;
            if (e.get_int64().get(v) != simdjson::SUCCESS || v < 1 || v > 6)
                fail(ErrorCode::bad_format, "{} 'tokenizer.token_type' must hold token types 1..6", where);
            t.token_type.push_back(static_cast<int32_t>(v));
        }
        if (t.token_type.size() != t.vocabulary.size())
            fail(ErrorCode::bad_format, "{} 'tokenizer.token_type' has {} entries for {} vocabulary entries", where,
                 t.token_type.size(), t.vocabulary.size());
    }
    t.bos_token_id = f.token_id("bos_token_id");
    t.eos_token_id = f.token_id("eos_token_id");
    t.pad_token_id = f.token_id("pad_token_id");
    t.add_bos_token = f.boolean("add_bos_token");
    check_id(t.bos_token_id, t.vocabulary.size(), "bos_token_id", where);
    check_id(t.eos_token_id, t.vocabulary.size(), "eos_token_id", where);
    check_id(t.pad_token_id, t.vocabulary.size(), "pad_token_id", where);
    return t;
}

}  // namespace

bool is_tokenizer_key(std::string_view key) {
    static constexpr std::array<std::string_view, 10> kKeys = {
        "tokenizer.ggml.model",        "tokenizer.ggml.pre",          "tokenizer.ggml.tokens",
        "tokenizer.ggml.merges",       "tokenizer.ggml.token_type",   "tokenizer.ggml.bos_token_id",
        "tokenizer.ggml.eos_token_id", "tokenizer.ggml.padding_token_id", "tokenizer.ggml.add_bos_token",
        "tokenizer.chat_template"};
    for (auto k : kKeys)
        if (k == key) return true;
    return false;
}

void put_tokenizer_keys(Metadata& m, const AprTokenizer& t) {
    auto str = [](std::string s) { MetaValue v; v.type = uint32_t(MetaType::string); v.value = std::move(s); return v; };
    auto u32 = [](int32_t id) { MetaValue v; v.type = uint32_t(MetaType::uint32); v.value = uint64_t(id); return v; };
    auto strings = [&](const std::vector<std::string>& items) {
        MetaValue v;
        v.type = uint32_t(MetaType::array);
        v.element_type = uint32_t(MetaType::string);
        MetaArray a;
        a.reserve(items.size());
        for (const auto& s : items) a.push_back(str(s));
        v.value = std::move(a);
        return v;
    };
    m["tokenizer.ggml.model"] = str(t.model);
    if (!t.pre_type.empty()) m["tokenizer.ggml.pre"] = str(t.pre_type);
    m["tokenizer.ggml.tokens"] = strings(t.vocabulary);
    if (!t.token_type.empty()) {
        MetaValue v;
        v.type = uint32_t(MetaType::array);
        v.element_type = uint32_t(MetaType::int32);
        MetaArray a;
        a.reserve(t.token_type.size());
        for (int32_t type : t.token_type) {
            MetaValue item;
            item.type = uint32_t(MetaType::int32);
            item.value = int64_t{type};
            a.push_back(std::move(item));
        }
        v.value = std::move(a);
        m["tokenizer.ggml.token_type"] = std::move(v);
    }
    if (!t.merges.empty()) m["tokenizer.ggml.merges"] = strings(t.merges);
    if (t.bos_token_id) m["tokenizer.ggml.bos_token_id"] = u32(*t.bos_token_id);
    if (t.eos_token_id) m["tokenizer.ggml.eos_token_id"] = u32(*t.eos_token_id);
    if (t.pad_token_id) m["tokenizer.ggml.padding_token_id"] = u32(*t.pad_token_id);
    if (t.add_bos_token) {
        MetaValue v;
        v.type = uint32_t(MetaType::boolean);
        v.value = *t.add_bos_token;
        m["tokenizer.ggml.add_bos_token"] = std::move(v);
    }
}

std::string encode_apr_metadata(const AprMetadata& md) {
    const ModelConfig& c = md.config;
    JsonWriter w;
    w.begin_object();
    w.field("architecture", c.architecture);
    w.field("hidden_size", c.hidden_size);
    w.field("num_layers", c.num_layers);
    w.field("num_heads", c.num_heads);
    w.field("num_kv_heads", c.num_kv_heads);
    w.field("head_dim", c.head_dim);
    w.field("vocab_size", c.vocab_size);
    w.field("intermediate_size", c.intermediate_size);
    w.field("max_position_embeddings", c.context_length);
    w.field("rope_theta", c.rope_theta);
    w.field("rope_type", md.rope_type);
    if (!c.rope_type.empty()) w.field("rope_scaling", c.rope_type);
    w.field("rms_norm_eps", c.rms_norm_eps);
    w.field("tied_embeddings", c.tied_embeddings);
    w.field("attention_bias", c.attention_bias);
    optional_id(w, "bos_token_id", c.bos_token_id);
    w.key("eos_token_ids");
    w.begin_array();
    for (int32_t id : c.eos_token_ids) w.value(id);
    w.end_array();
    optional_id(w, "pad_token_id", c.pad_token_id);
    if (!c.torch_dtype.empty()) w.field("torch_dtype", c.torch_dtype);
    if (!c.layer_types.empty()) {
        w.key("layer_types");
        w.begin_array();
        for (const auto& t : c.layer_types) w.value(t);
        w.end_array();
    }
    if (md.chat_template) w.field("chat_template", *md.chat_template);
    w.key("special_tokens");
    w.begin_object();
    for (const auto& [role, id] : md.special_tokens) w.field(role, id);
    w.end_object();
    if (md.tokenizer) {
        const AprTokenizer& t = *md.tokenizer;
        w.key("tokenizer");
        w.begin_object();
        w.field("model", t.model);
        w.field("pre_type", t.pre_type);
        optional_id(w, "bos_token_id", t.bos_token_id);
        optional_id(w, "eos_token_id", t.eos_token_id);
        optional_id(w, "pad_token_id", t.pad_token_id);
        if (t.add_bos_token) w.field("add_bos_token", *t.add_bos_token);
        w.key("vocabulary");
        w.begin_array();
        for (const auto& s : t.vocabulary) w.value(s);
        w.end_array();
        w.key("merges");
        w.begin_array();
        for (const auto& s : t.merges) w.value(s);
        w.end_array();
        w.key("token_type");
        w.begin_array();
        for (int32_t type : t.token_type) w.value(type);
        w.end_array();
        w.end_object();
    }
    w.key("source_metadata");
    w.begin_object();
    for (const auto& [key, value] : md.source_metadata) {
        w.key(key);
        encode_typed(w, value, key);
    }
    w.end_object();
    w.key("source_files");
    w.begin_object();
    for (const auto& [name, text] : md.source_files) w.field(name, text);
    w.end_object();
    w.key("provenance");
    w.begin_object();
    w.field("source", md.provenance.source);
    w.field("source_format", md.provenance.source_format);
    w.field("sha256", md.provenance.sha256);
    w.field("tool", md.provenance.tool);
    w.field("conversion", md.provenance.conversion);
    w.end_object();
    w.end_object();
    return w.take();
}

AprMetadata decode_apr_metadata(std::string_view json, std::string_view file) {
    const std::string where = fmt::format("{}: metadata", file);
    const JsonDocument doc = JsonDocument::parse(json, where);
    Fields f(doc.root_object(), where);
    AprMetadata md;
    ModelConfig& c = md.config;
    c.architecture = f.text("architecture").value_or("");
    c.hidden_size = f.count("hidden_size").value_or(0);
    c.num_layers = f.count("num_layers").value_or(0);
    c.num_heads = f.count("num_heads").value_or(0);
    c.num_kv_heads = f.count("num_kv_heads").value_or(c.num_heads);
    c.head_dim = f.count("head_dim").value_or(c.num_heads > 0 ? c.hidden_size / c.num_heads : 0);
    c.vocab_size = f.count("vocab_size").value_or(0);
    c.intermediate_size = f.count("intermediate_size").value_or(0);
    c.context_length = f.count("max_position_embeddings").value_or(0);
    c.rope_theta = f.number("rope_theta").value_or(10000.0);
    md.rope_type = f.text("rope_type").value_or("neox");
    if (md.rope_type != "neox" && md.rope_type != "normal") f.wrong("rope_type", "\"neox\" or \"normal\"");
    c.rope_type = f.text("rope_scaling").value_or("");
    c.rms_norm_eps = f.number("rms_norm_eps").value_or(1e-6);
    c.tied_embeddings = f.boolean("tied_embeddings").value_or(false);
    c.attention_bias = f.boolean("attention_bias").value_or(false);
    c.bos_token_id = f.token_id("bos_token_id");
    c.pad_token_id = f.token_id("pad_token_id");
    if (const auto eos = f.list("eos_token_ids")) {
        for (element e : *eos) {
            int64_t id;
            if (e.get_int64().get(id) != simdjson::SUCCESS || id < 0 || id >= kMaxHyperparameter)
                f.wrong("eos_token_ids", "an array of token ids");
            c.eos_token_ids.push_back(static_cast<int32_t>(id));
        }
    }
    c.torch_dtype = f.text("torch_dtype").value_or("");
    c.layer_types = f.strings("layer_types");
    md.chat_template = f.text("chat_template");
    if (const auto special = f.obj("special_tokens")) {
        Fields s(*special, where + " 'special_tokens':");
        for (auto [role, value] : *special) {
            int64_t id;
            if (value.get_int64().get(id) != simdjson::SUCCESS || id < 0 || id >= kMaxHyperparameter)
                s.wrong(role, "a token id");
            md.special_tokens.emplace_back(std::string(role), static_cast<int32_t>(id));
        }
    }
    if (const auto t = f.obj("tokenizer")) md.tokenizer = decode_tokenizer(*t, where);
    if (const auto s = f.obj("source_metadata")) md.source_metadata = decode_source_metadata(*s, where);
    if (const auto s = f.obj("source_files")) {
        for (auto [name, value] : *s) {
            std::string_view text;
            if (value.get_string().get(text) != simdjson::SUCCESS)
                fail(ErrorCode::bad_format, "{} 'source_files.{}' must be a string", where, std::string_view(name));
            md.source_files[std::string(name)] = std::string(text);
        }
    }
    if (const auto p = f.obj("provenance")) {
        Fields pf(*p, where + " 'provenance':");
        md.provenance.source = pf.text("source").value_or("");
        md.provenance.source_format = pf.text("source_format").value_or("");
        md.provenance.sha256 = pf.text("sha256").value_or("");
        md.provenance.tool = pf.text("tool").value_or("");
        md.provenance.conversion = pf.text("conversion").value_or("");
    }
    return md;
}

AprMetadata read_apr_metadata(const std::filesystem::path& path) {
    const MappedFile mapping(path);
    const AprContents contents = parse_apr(mapping.data(), mapping.size(), path.string());
    return decode_apr_metadata(contents.metadata_json, path.string());
}

void apply_apr_metadata(LoadedModelFile& model, std::string_view json, std::string_view file) {
    AprMetadata md = decode_apr_metadata(json, file);
    Metadata& m = model.mutable_metadata();
    m = std::move(md.source_metadata);
    MetaValue rope;
    rope.type = uint32_t(MetaType::string);
    rope.value = md.rope_type;
    m["apr.rope_type"] = std::move(rope);
    TokenizerSummary& summary = model.mutable_tokenizer_summary();
    if (md.tokenizer) {
        put_tokenizer_keys(m, *md.tokenizer);
        summary.model = md.tokenizer->model;
        summary.pre_tokenizer = md.tokenizer->pre_type;
        summary.vocab_size = static_cast<int64_t>(md.tokenizer->vocabulary.size());
    }
    if (md.chat_template) {
        MetaValue v;
        v.type = uint32_t(MetaType::string);
        v.value = *md.chat_template;
        m["tokenizer.chat_template"] = std::move(v);
    }
    summary.special_tokens = std::move(md.special_tokens);
    summary.has_chat_template = md.chat_template.has_value();
    model.mutable_config() = std::move(md.config);
}

}  // namespace apr::formats
