// Reads Hugging Face's tokenizer.json (+ tokenizer_config.json) into a
// TokenizerSpec. Only what byte-level BPE needs is accepted; any other model,
// normalizer or pre-tokenizer is reported as unsupported rather than guessed.
#include <simdjson.h>

#include <algorithm>

#include "core/fail.hpp"
#include "tokenizer/tokenizer_spec.hpp"

namespace apr::tokenizer {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

struct Reader {
    std::string_view source;

    [[noreturn]] void bad(std::string_view field, std::string_view what) const {
        fail(ErrorCode::bad_format, "{}: '{}' {}", source, field, what);
    }
    object as_object(element e, std::string_view field) const {
        object o;
        if (e.get(o)) bad(field, "is not an object");
        return o;
    }
    array as_array(element e, std::string_view field) const {
        array a;
        if (e.get(a)) bad(field, "is not an array");
        return a;
    }
    std::string_view as_string(element e, std::string_view field) const {
        std::string_view s;
        if (e.get(s)) bad(field, "is not a string");
        return s;
    }
    int64_t as_int(element e, std::string_view field) const {
        int64_t v = 0;
        if (e.get(v)) bad(field, "is not an integer");
        return v;
    }
    bool as_bool(element e, std::string_view field) const {
        bool v = false;
        if (e.get(v)) bad(field, "is not a boolean");
        return v;
    }
    // The member, or nullopt when absent or null.
    static std::optional<element> member(object o, std::string_view key) {
        element e;
        if (o[key].get(e) || e.is_null()) return std::nullopt;
        return e;
    }
    bool bool_member(object o, std::string_view key, std::string_view field, bool fallback) const {
        const auto e = member(o, key);
        return e ? as_bool(*e, field) : fallback;
    }
    std::string_view type_of(object o, std::string_view field) const {
        const auto e = member(o, "type");
        if (!e) bad(field, "has no 'type'");
        return as_string(*e, std::string(field) + ".type");
    }
};

// The largest vocabularies in use have about 262k entries; the bound keeps a
// tiny malformed file from making the tables (sized by the largest id) huge.
constexpr int64_t kMaxTokenId = int64_t{1} << 21;

int32_t checked_id(const Reader& r, int64_t id, std::string_view field) {
    if (id < 0 || id >= kMaxTokenId)
        r.bad(field, fmt::format("has the id {}, outside 0..{}", id, kMaxTokenId - 1));
    return static_cast<int32_t>(id);
}

void read_model(const Reader& r, object model, TokenizerSpec& spec) {
    const auto type = Reader::member(model, "type");
    if (type && r.as_string(*type, "model.type") != "BPE")
        fail(ErrorCode::unsupported, "{}: model type '{}' is not supported (only byte-level BPE)", r.source,
             r.as_string(*type, "model.type"));
    if (r.bool_member(model, "byte_fallback", "model.byte_fallback", false))
        fail(ErrorCode::unsupported, "{}: byte-fallback BPE (SentencePiece style) is not supported", r.source);
    spec.ignore_merges = r.bool_member(model, "ignore_merges", "model.ignore_merges", false);
    // Word-piece style affixes change how merges read; byte-level models leave them empty.
    for (const std::string_view affix : {"continuing_subword_prefix", "end_of_word_suffix"}) {
        const auto e = Reader::member(model, affix);
        if (e && !r.as_string(*e, affix).empty())
            fail(ErrorCode::unsupported, "{}: BPE with a '{}' is not supported", r.source, affix);
    }

    const auto vocab = Reader::member(model, "vocab");
    if (!vocab) r.bad("model.vocab", "is missing");
    for (const auto field : r.as_object(*vocab, "model.vocab")) {
        const int32_t id = checked_id(r, r.as_int(field.value, "model.vocab"), "model.vocab");
        if (size_t(id) >= spec.pieces.size()) spec.pieces.resize(size_t(id) + 1);
        spec.pieces[id] = std::string(field.key);
    }

    const auto merges = Reader::member(model, "merges");
    if (!merges) r.bad("model.merges", "is missing");
    for (const element m : r.as_array(*merges, "model.merges")) {
        // Either "left right" (older files) or ["left", "right"].
        std::string_view text;
        if (!m.get(text)) {
            const size_t space = text.find(' ', 1);
            if (space == std::string_view::npos || text.find(' ', space + 1) != std::string_view::npos)
                r.bad("model.merges", fmt::format("has the entry \"{}\", not two tokens", text));
            spec.merges.emplace_back(text.substr(0, space), text.substr(space + 1));
            continue;
        }
        array pair;
        element left, right;
        if (m.get(pair) || pair.size() != 2 || pair.at(0).get(left) || pair.at(1).get(right))
            r.bad("model.merges", "has an entry that is neither a string nor a pair");
        spec.merges.emplace_back(r.as_string(left, "model.merges"), r.as_string(right, "model.merges"));
    }
}

void read_added_tokens(const Reader& r, array tokens, TokenizerSpec& spec) {
    for (const element t : tokens) {
        const object token = r.as_object(t, "added_tokens[]");
        const auto id_e = Reader::member(token, "id");
        const auto content_e = Reader::member(token, "content");
        if (!id_e || !content_e) r.bad("added_tokens[]", "needs 'id' and 'content'");
        const int32_t id = checked_id(r, r.as_int(*id_e, "added_tokens[].id"), "added_tokens[].id");
        if (size_t(id) >= spec.pieces.size()) spec.pieces.resize(size_t(id) + 1);
        spec.pieces[id] = std::string(r.as_string(*content_e, "added_tokens[].content"));
        if (spec.kinds.size() < spec.pieces.size()) spec.kinds.resize(spec.pieces.size(), TokenKind::normal);
        spec.kinds[id] = r.bool_member(token, "special", "added_tokens[].special", false) ? TokenKind::control
                                                                                           : TokenKind::user_defined;
        if (spec.added_options.size() <= size_t(id)) spec.added_options.resize(size_t(id) + 1);
        spec.added_options[id].lstrip = r.bool_member(token, "lstrip", "added_tokens[].lstrip", false);
        spec.added_options[id].rstrip = r.bool_member(token, "rstrip", "added_tokens[].rstrip", false);
    }
}

void read_normalizer(const Reader& r, std::optional<element> normalizer, TokenizerSpec& spec) {
    if (!normalizer) return;
    const object o = r.as_object(*normalizer, "normalizer");
    const std::string_view type = r.type_of(o, "normalizer");
    if (type == "NFC") {
        spec.nfc = true;
    } else if (type == "Sequence") {
        const auto items = Reader::member(o, "normalizers");
        if (!items) r.bad("normalizer.normalizers", "is missing");
        for (const element item : r.as_array(*items, "normalizer.normalizers")) read_normalizer(r, item, spec);
    } else {
        fail(ErrorCode::unsupported, "{}: normalizer '{}' is not supported (only NFC)", r.source, type);
    }
}

// Accepts Split(known regex, Isolated) + ByteLevel(use_regex=false), or a
// lone ByteLevel(use_regex=true), which is GPT-2's.
void read_pre_tokenizer(const Reader& r, std::optional<element> pre, TokenizerSpec& spec) {
    if (!pre) fail(ErrorCode::unsupported, "{}: no pre_tokenizer; only byte-level BPE is supported", r.source);
    std::vector<object> steps;
    const object top = r.as_object(*pre, "pre_tokenizer");
    if (r.type_of(top, "pre_tokenizer") == "Sequence") {
        const auto items = Reader::member(top, "pretokenizers");
        if (!items) r.bad("pre_tokenizer.pretokenizers", "is missing");
        for (const element item : r.as_array(*items, "pre_tokenizer.pretokenizers"))
            steps.push_back(r.as_object(item, "pre_tokenizer.pretokenizers[]"));
    } else {
        steps.push_back(top);
    }
    bool have_split = false, have_byte_level = false;
    for (const object step : steps) {
        const std::string_view type = r.type_of(step, "pre_tokenizer");
        if (type == "Split" && !have_split) {
            const auto pattern = Reader::member(step, "pattern");
            std::optional<element> regex;
            if (pattern) regex = Reader::member(r.as_object(*pattern, "pre_tokenizer.pattern"), "Regex");
            if (!regex) fail(ErrorCode::unsupported, "{}: a Split pre-tokenizer without a regex", r.source);
            const std::string_view text = r.as_string(*regex, "pre_tokenizer.pattern.Regex");
            const auto kind = pre_tokenizer_from_regex(text);
            if (!kind) fail(ErrorCode::unsupported, "{}: unknown pre-tokenizer regex {}", r.source, text);
            const auto behavior = Reader::member(step, "behavior");
            if ((behavior && r.as_string(*behavior, "pre_tokenizer.behavior") != "Isolated") ||
                r.bool_member(step, "invert", "pre_tokenizer.invert", false))
                fail(ErrorCode::unsupported, "{}: only Split with behavior Isolated is supported", r.source);
            spec.pre_tokenizer = *kind;
            have_split = true;
        } else if (type == "ByteLevel" && !have_byte_level) {
            spec.add_prefix_space = r.bool_member(step, "add_prefix_space", "pre_tokenizer.add_prefix_space", false);
            if (r.bool_member(step, "use_regex", "pre_tokenizer.use_regex", true)) {
                if (have_split)
                    fail(ErrorCode::unsupported, "{}: a ByteLevel regex after a Split is not supported", r.source);
                spec.pre_tokenizer = PreTokenizerKind::gpt2;
                have_split = true;
            }
            have_byte_level = true;
        } else {
            fail(ErrorCode::unsupported, "{}: pre-tokenizer '{}' is not supported here", r.source, type);
        }
    }
    if (!have_byte_level || !have_split)
        fail(ErrorCode::unsupported, "{}: the pre-tokenizer is not byte-level BPE with a known regex", r.source);
}

// A leading special token in TemplateProcessing's "single" template is the BOS.
void read_post_processor(const Reader& r, std::optional<element> post, TokenizerSpec& spec,
                         std::optional<int32_t>& template_bos) {
    if (!post) return;
    const object o = r.as_object(*post, "post_processor");
    if (r.type_of(o, "post_processor") != "TemplateProcessing") return;
    const auto single = Reader::member(o, "single");
    if (!single) return;
    const array items = r.as_array(*single, "post_processor.single");
    if (items.size() == 0) return;
    object first;
    element special;
    if (items.at(0).get(first) || first["SpecialToken"].get(special)) return;
    const auto name = Reader::member(r.as_object(special, "post_processor.single"), "id");
    if (!name) return;
    const std::string_view content = r.as_string(*name, "post_processor.single[0].SpecialToken.id");
    for (size_t id = 0; id < spec.pieces.size(); ++id)
        if (spec.pieces[id] == content) template_bos = static_cast<int32_t>(id);
}

// bos_token etc. are a string, {"content": ...} or null.
std::optional<int32_t> config_token(const Reader& r, object config, std::string_view key, const TokenizerSpec& spec) {
    const auto e = Reader::member(config, key);
    if (!e) return std::nullopt;
    std::string_view content;
    object o;
    if (!e->get(o)) {
        const auto c = Reader::member(o, "content");
        if (!c) r.bad(key, "has no 'content'");
        content = r.as_string(*c, key);
    } else {
        content = r.as_string(*e, key);
    }
    for (size_t id = 0; id < spec.pieces.size(); ++id)
        if (spec.pieces[id] == content) return static_cast<int32_t>(id);
    fail(ErrorCode::bad_format, "{}: {} '{}' is not in the vocabulary", r.source, key, content);
}

element parse(simdjson::dom::parser& parser, std::string_view text, std::string_view source) {
    element root;
    const simdjson::padded_string padded(text);
    if (const auto error = parser.parse(padded).get(root))
        fail(ErrorCode::bad_format, "{}: not valid JSON ({})", source, simdjson::error_message(error));
    return root;
}

}  // namespace

TokenizerSpec parse_tokenizer_json(std::string_view json, std::string_view config_json, std::string_view source) {
    TokenizerSpec spec;
    spec.source = std::string(source);
    const Reader r{spec.source};
    simdjson::dom::parser parser;
    const object root = r.as_object(parse(parser, json, source), "(top level)");

    const auto model = Reader::member(root, "model");
    if (!model) r.bad("model", "is missing");
    read_model(r, r.as_object(*model, "model"), spec);
    spec.kinds.assign(spec.pieces.size(), TokenKind::normal);
    if (const auto added = Reader::member(root, "added_tokens"))
        read_added_tokens(r, r.as_array(*added, "added_tokens"), spec);
    // Ids the file never names stay as holes: no text, decode to nothing.
    for (size_t id = 0; id < spec.pieces.size(); ++id)
        if (spec.pieces[id].empty()) spec.kinds[id] = TokenKind::unused;
    read_normalizer(r, Reader::member(root, "normalizer"), spec);
    read_pre_tokenizer(r, Reader::member(root, "pre_tokenizer"), spec);
    std::optional<int32_t> template_bos;
    read_post_processor(r, Reader::member(root, "post_processor"), spec, template_bos);

    if (template_bos) {
        spec.bos = template_bos;
        spec.add_bos = true;
    }
    if (!config_json.empty()) {
        const std::string config_source = spec.source + " (tokenizer_config.json)";
        const Reader cr{config_source};
        simdjson::dom::parser config_parser;
        const object config = cr.as_object(parse(config_parser, config_json, config_source), "(top level)");
        if (auto bos = config_token(cr, config, "bos_token", spec)) spec.bos = bos;
        spec.eos = config_token(cr, config, "eos_token", spec);
        spec.pad = config_token(cr, config, "pad_token", spec);
        spec.add_bos = cr.bool_member(config, "add_bos_token", "add_bos_token", spec.add_bos);
    }
    return spec;
}

}  // namespace apr::tokenizer
