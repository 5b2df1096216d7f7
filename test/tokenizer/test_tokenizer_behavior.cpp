// Tokenizer behaviour on small tokenizer.json files written here: added and
// special tokens, decoding, streaming, invalid input, and clear errors for
// malformed or unsupported files.
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "apr/error.hpp"
#include "apr/tokenizer.hpp"
#include "tokenizer/byte_level.hpp"
#include "tokenizer/unicode.hpp"

using apr::ErrorCode;
using apr::Tokenizer;
using Ids = std::vector<int32_t>;

namespace {

constexpr const char* kQwenRegex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+)";

std::string json_string(std::string_view text) {
    std::string out = "\"";
    for (const char c : text) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

// Ids 0..255 are the bytes (id = byte value), then a few merges:
// 256 "he", 257 "ll", 258 "hell", 259 "hello", 260 "Ġhello";
// added tokens 261 <|ctl|> (special), 262 <user> (not special),
// 263 <|strip|> (special, lstrip + rstrip).
struct TinyOptions {
    std::string pre_tokenizer;
    std::string normalizer = R"({"type": "NFC"})";
    std::string post_processor = "null";
    std::string model_extra;
    std::string extra_vocab;
    std::string extra_merges;
};

std::string tiny_json(const TinyOptions& o = {}) {
    std::string vocab;
    for (int b = 0; b < 256; ++b) {
        std::string piece;
        apr::unicode::append_utf8(piece, apr::tokenizer::byte_level_alphabet()[b]);
        vocab += fmt::format("{}: {}, ", json_string(piece), b);
    }
    vocab += R"("he": 256, "ll": 257, "hell": 258, "hello": 259, "Ġhello": 260)" + o.extra_vocab;
    const std::string pre = o.pre_tokenizer.empty()
                                ? fmt::format(R"({{"type": "Sequence", "pretokenizers": [
                                      {{"type": "Split", "pattern": {{"Regex": "{}"}}, "behavior": "Isolated", "invert": false}},
                                      {{"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}}]}})",
                                              kQwenRegex)
                                : o.pre_tokenizer;
    return fmt::format(R"({{
      "version": "1.0",
      "added_tokens": [
        {{"id": 261, "content": "<|ctl|>", "special": true}},
        {{"id": 262, "content": "<user>", "special": false}},
        {{"id": 263, "content": "<|strip|>", "special": true, "lstrip": true, "rstrip": true}}
      ],
      "normalizer": {},
      "pre_tokenizer": {},
      "post_processor": {},
      "decoder": {{"type": "ByteLevel"}},
      "model": {{"type": "BPE", {} "vocab": {{ {} }},
                "merges": ["h e", ["l", "l"], "he ll", ["hell", "o"], "Ġ hello" {}]}}
    }})",
                       o.normalizer, pre, o.post_processor, o.model_extra, vocab, o.extra_merges);
}

const Tokenizer& tiny() {
    static const auto tok = Tokenizer::from_tokenizer_json(tiny_json());
    return *tok;
}

Ids bytes_of(std::string_view text) {
    Ids ids;
    for (const char c : text) ids.push_back(static_cast<unsigned char>(c));
    return ids;
}

template <typename F>
void check_error(F&& f, ErrorCode code, std::string_view needle) {
    try {
        f();
        FAIL("no error thrown");
    } catch (const apr::Error& e) {
        INFO("message: " << e.what());
        CHECK(e.code() == code);
        CHECK(std::string_view(e.what()).find(needle) != std::string_view::npos);
    }
}

}  // namespace

TEST_CASE("BPE merges by rank within words") {
    CHECK(tiny().encode("hello hello") == Ids{259, 260});
    CHECK(tiny().encode("hellhe") == Ids{258, 256});
    CHECK(tiny().encode("") == Ids{});
    CHECK(tiny().vocab_size() == 264);
    CHECK(tiny().token_text(260) == "Ġhello");
    CHECK(tiny().token_id("Ġhello") == 260);
    CHECK_FALSE(tiny().token_id("nope").has_value());
}

TEST_CASE("special tokens are atomic unless parse_special is off; user-defined ones always are") {
    CHECK(tiny().encode("a<|ctl|>b") == Ids{'a', 261, 'b'});
    const Ids plain = tiny().encode("a<|ctl|>b", false);
    CHECK(plain == bytes_of("a<|ctl|>b"));
    CHECK(tiny().decode(plain) == "a<|ctl|>b");
    CHECK(tiny().encode("x<user>y", false) == Ids{'x', 262, 'y'});
    CHECK(tiny().encode("x  <|strip|>  y") == Ids{'x', 263, 'y'});  // lstrip and rstrip take the spaces
    CHECK(tiny().encode("<|ctl|><|ctl|>") == Ids{261, 261});
    CHECK(tiny().is_control(261));
    CHECK_FALSE(tiny().is_control(262));
    CHECK(tiny().is_added(262));
    CHECK_FALSE(tiny().is_added('a'));
}

TEST_CASE("decode writes added tokens as text and can skip control tokens") {
    const Ids ids = {'a', 261, 262, 'b'};
    CHECK(tiny().decode(ids) == "a<|ctl|><user>b");
    CHECK(tiny().decode(ids, true) == "a<user>b");
}

TEST_CASE("bad ids are clear errors") {
    check_error([] { (void)tiny().decode(Ids{'a', 999}); }, ErrorCode::invalid_argument, "999");
    check_error([] { (void)tiny().decode(Ids{-1}); }, ErrorCode::invalid_argument, "-1");
    check_error([] { (void)tiny().token_text(264); }, ErrorCode::invalid_argument, "264");
    apr::StreamingDecoder stream(tiny());
    check_error([&] { (void)stream.push(100000); }, ErrorCode::invalid_argument, "100000");
}

TEST_CASE("invalid UTF-8 input keeps its raw bytes") {
    const std::string input = "ok\xFF\xC3(\xE6\x97";
    const Ids ids = tiny().encode(input);
    CHECK(ids == bytes_of(input));
    CHECK(tiny().decode_bytes(ids) == input);
    CHECK(tiny().decode(ids) == "ok\xEF\xBF\xBD\xEF\xBF\xBD(\xEF\xBF\xBD");
}

TEST_CASE("NFC normalization happens before splitting") {
    CHECK(tiny().encode("e\xCC\x81") == tiny().encode("\xC3\xA9"));
    CHECK(tiny().encode("e\xCC\x81") == Ids{0xC3, 0xA9});
}

TEST_CASE("streaming decoder emits only whole characters") {
    // "é日" is 5 bytes, each its own token here.
    const std::string text = "\xC3\xA9\xE6\x97\xA5!";
    const Ids ids = tiny().encode(text);
    REQUIRE(ids.size() == 6);
    apr::StreamingDecoder stream(tiny());
    std::vector<std::string> pieces;
    for (const int32_t id : ids) pieces.push_back(stream.push(id));
    CHECK(pieces == std::vector<std::string>{"", "\xC3\xA9", "", "", "\xE6\x97\xA5", "!"});
    CHECK(stream.finish().empty());

    // An incomplete character at the end comes out as U+FFFD on finish, and
    // an impossible byte as soon as it is seen.
    CHECK(stream.push(0xE6).empty());
    CHECK(stream.finish() == "\xEF\xBF\xBD");
    CHECK(stream.push(0xFF) == "\xEF\xBF\xBD");
    CHECK(stream.push(0xE6).empty());
    CHECK(stream.push('a') == "\xEF\xBF\xBD" "a");

    apr::StreamingDecoder skipping(tiny(), true);
    CHECK(skipping.push(261).empty());
    CHECK(skipping.push('z') == "z");
}

TEST_CASE("gpt2 byte-level pre-tokenizer with add_prefix_space") {
    TinyOptions o;
    o.pre_tokenizer = R"({"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true})";
    o.normalizer = "null";
    const auto tok = Tokenizer::from_tokenizer_json(tiny_json(o));
    CHECK(tok->pre_tokenizer() == "gpt2");
    CHECK(tok->encode("hello") == Ids{260});
    CHECK(tok->encode("hello<|ctl|>hello") == Ids{260, 261, 260});  // each stretch gets its space
}

TEST_CASE("a merge listed twice takes its later rank, as in Hugging Face") {
    TinyOptions o;
    o.extra_vocab = R"(, "ab": 264, "bc": 265)";
    o.extra_merges = R"(, "a b", "b c", "a b")";  // "a b" ends up ranked after "b c"
    const auto tok = Tokenizer::from_tokenizer_json(tiny_json(o));
    CHECK(tok->encode("abc") == Ids{'a', 265});
}

TEST_CASE("ignore_merges takes whole words found in the vocabulary") {
    TinyOptions o;
    o.model_extra = R"("ignore_merges": true,)";
    o.extra_vocab = R"(, "xyz": 264)";
    const auto tok = Tokenizer::from_tokenizer_json(tiny_json(o));
    CHECK(tok->encode("xyz") == Ids{264});
    CHECK(tiny().encode("xyz") == Ids{'x', 'y', 'z'});
}

TEST_CASE("BOS from the post-processor template and from tokenizer_config.json") {
    TinyOptions o;
    o.post_processor = R"({"type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "<|ctl|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [], "special_tokens": {}})";
    const auto tok = Tokenizer::from_tokenizer_json(tiny_json(o));
    CHECK(tok->bos_id() == 261);
    CHECK(tok->add_bos());
    CHECK_FALSE(tok->eos_id().has_value());

    const auto configured = Tokenizer::from_tokenizer_json(
        tiny_json(o), R"({"add_bos_token": false, "eos_token": {"content": "<|strip|>"}, "pad_token": "<user>",
                         "bos_token": null})");
    CHECK(configured->bos_id() == 261);
    CHECK_FALSE(configured->add_bos());
    CHECK(configured->eos_id() == 263);
    CHECK(configured->pad_id() == 262);

    CHECK_FALSE(tiny().bos_id().has_value());
    CHECK_FALSE(tiny().add_bos());
}

TEST_CASE("malformed and unsupported tokenizer.json files are named errors") {
    check_error([] { Tokenizer::from_tokenizer_json("{", {}, "bad.json"); }, ErrorCode::bad_format, "bad.json");
    check_error([] { Tokenizer::from_tokenizer_json("[]"); }, ErrorCode::bad_format, "not an object");
    check_error([] { Tokenizer::from_tokenizer_json("{}"); }, ErrorCode::bad_format, "'model'");
    check_error([] { Tokenizer::from_tokenizer_json(R"({"model": {"type": "Unigram"}})"); }, ErrorCode::unsupported,
                "Unigram");
    check_error([] { Tokenizer::from_tokenizer_json(R"({"model": {"type": "BPE", "vocab": {"a": "x"}, "merges": []}})"); },
                ErrorCode::bad_format, "model.vocab");
    check_error([] { Tokenizer::from_tokenizer_json(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a"]}})"); },
                ErrorCode::bad_format, "model.merges");
    check_error([] { Tokenizer::from_tokenizer_json(R"({"model": {"type": "BPE", "vocab": {"a": -5}, "merges": []}})"); },
                ErrorCode::bad_format, "-5");
    check_error([] { Tokenizer::from_tokenizer_json(R"({"model": {"type": "BPE", "vocab": {"a": 3000000}, "merges": []}})"); },
                ErrorCode::bad_format, "3000000");
    check_error([] { Tokenizer::from_tokenizer_json(
                         R"({"model": {"type": "BPE", "continuing_subword_prefix": "##", "vocab": {}, "merges": []}})"); },
                ErrorCode::unsupported, "continuing_subword_prefix");
    TinyOptions o;
    o.pre_tokenizer = R"({"type": "Split", "pattern": {"Regex": "\\w+"}, "behavior": "Isolated"})";
    check_error([&] { Tokenizer::from_tokenizer_json(tiny_json(o)); }, ErrorCode::unsupported, "regex");
    o = {};
    o.normalizer = R"({"type": "NFKC"})";
    check_error([&] { Tokenizer::from_tokenizer_json(tiny_json(o)); }, ErrorCode::unsupported, "NFKC");
    check_error([] { Tokenizer::from_tokenizer_json(tiny_json(), R"({"eos_token": "<nope>"})"); }, ErrorCode::bad_format,
                "<nope>");
    check_error([] { Tokenizer::from_file("/nonexistent/dir/tokenizer.json"); }, ErrorCode::not_found, "/nonexistent");
}

// Deterministic versions of what fuzz_tokenizer checks.
TEST_CASE("random bytes round-trip through encode and decode_bytes") {
    std::mt19937 rng(7);
    for (int i = 0; i < 2000; ++i) {
        std::string input(rng() % 40, '\0');
        for (char& c : input) c = static_cast<char>(rng() % 4 == 0 ? "<|ctl>user \n\t'sé"[rng() % 17] : rng() % 256);
        if (!apr::unicode::is_nfc_quick(input)) continue;  // NFC may change it, by design
        for (const bool special : {true, false}) {
            const Ids ids = tiny().encode(input, special);
            REQUIRE(tiny().decode_bytes(ids) == input);
            apr::StreamingDecoder stream(tiny());
            std::string streamed;
            for (const int32_t id : ids) streamed += stream.push(id);
            streamed += stream.finish();
            REQUIRE(streamed == tiny().decode(ids));
        }
    }
}

TEST_CASE("a tokenizer.json cut short anywhere is an error, never a crash") {
    const std::string json = tiny_json();
    size_t errors = 0;
    for (size_t cut = 0; cut < json.size(); cut += 3) {
        try {
            Tokenizer::from_tokenizer_json(json.substr(0, cut));
        } catch (const apr::Error&) {
            ++errors;
        }
    }
    CHECK(errors == (json.size() + 2) / 3);
}
