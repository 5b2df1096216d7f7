// Tokenizers from GGUF metadata built here (no files): what is read from
// tokenizer.ggml.*, and named errors for malformed or unsupported metadata.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "apr/error.hpp"
#include "apr/model_file.hpp"
#include "apr/tokenizer.hpp"
#include "tokenizer/byte_level.hpp"
#include "tokenizer/tokenizer_spec.hpp"
#include "tokenizer/unicode.hpp"

using apr::ErrorCode;
using apr::MetaArray;
using apr::Metadata;
using apr::MetaValue;
using Ids = std::vector<int32_t>;

namespace {

MetaValue str(std::string s) { return MetaValue{8, 0, std::move(s)}; }
MetaValue u32(uint64_t v) { return MetaValue{4, 0, v}; }
MetaValue i32(int64_t v) { return MetaValue{5, 0, v}; }
MetaValue boolean(bool v) { return MetaValue{7, 0, v}; }
MetaValue array(MetaArray items, uint32_t element_type) { return MetaValue{9, element_type, std::move(items)}; }

// Ids 0..255: the bytes; 256 "ab", 257 "Ġab"; 258 <|end|> control;
// 259 <|user|> user-defined; 260 [PAD260] unused.
Metadata base_metadata(const std::string& pre = "qwen2") {
    MetaArray tokens, types;
    for (int b = 0; b < 256; ++b) {
        std::string piece;
        apr::unicode::append_utf8(piece, apr::tokenizer::byte_level_alphabet()[b]);
        tokens.push_back(str(piece));
        types.push_back(i32(1));
    }
    for (const char* t : {"ab", "Ġab"}) {
        tokens.push_back(str(t));
        types.push_back(i32(1));
    }
    tokens.push_back(str("<|end|>"));
    types.push_back(i32(3));
    tokens.push_back(str("<|user|>"));
    types.push_back(i32(4));
    tokens.push_back(str("[PAD260]"));
    types.push_back(i32(5));
    Metadata m;
    m["tokenizer.ggml.model"] = str("gpt2");
    m["tokenizer.ggml.pre"] = str(pre);
    m["tokenizer.ggml.tokens"] = array(std::move(tokens), 8);
    m["tokenizer.ggml.token_type"] = array(std::move(types), 5);
    m["tokenizer.ggml.merges"] = array({str("a b"), str("Ġ ab")}, 8);
    m["tokenizer.ggml.bos_token_id"] = u32(258);
    m["tokenizer.ggml.eos_token_id"] = u32(258);
    m["tokenizer.ggml.padding_token_id"] = u32(0xFFFFFFFF);  // "none"
    m["tokenizer.ggml.add_bos_token"] = boolean(false);
    return m;
}

std::unique_ptr<apr::Tokenizer> build(const Metadata& m) {
    return apr::tokenizer::build_tokenizer(apr::tokenizer::parse_gguf_tokenizer(m, "test.gguf"));
}

void check_error(const Metadata& m, ErrorCode code, std::string_view needle) {
    try {
        build(m);
        FAIL("no error thrown");
    } catch (const apr::Error& e) {
        INFO("message: " << e.what());
        CHECK(e.code() == code);
        CHECK(std::string_view(e.what()).find(needle) != std::string_view::npos);
        CHECK(std::string_view(e.what()).find("test.gguf") != std::string_view::npos);
    }
}

}  // namespace

TEST_CASE("a GGUF vocabulary: merges, token types, special ids") {
    const auto tok = build(base_metadata());
    CHECK(tok->vocab_size() == 261);
    CHECK(tok->encode("ab ab<|end|><|user|>") == Ids{256, 257, 258, 259});
    CHECK(tok->encode("<|end|><|user|>", false) != Ids{258, 259});
    CHECK(tok->encode("<|end|><|user|>", false).back() == 259);
    CHECK(tok->encode("[PAD260]").size() > 1);  // unused entries are never matched in text
    CHECK(tok->decode(Ids{256, 258, 259, 260}) == "ab<|end|><|user|>");
    CHECK(tok->decode(Ids{256, 258, 259}, true) == "ab<|user|>");
    CHECK(tok->bos_id() == 258);
    CHECK(tok->eos_id() == 258);
    CHECK_FALSE(tok->pad_id().has_value());
    CHECK_FALSE(tok->add_bos());
    CHECK(tok->is_control(258));
    CHECK_FALSE(tok->is_control(259));
    CHECK(tok->pre_tokenizer() == "qwen2");
    CHECK(tok->encode("e\xCC\x81") == Ids{0xC3, 0xA9});  // qwen2 implies NFC
}

TEST_CASE("the GGUF pre-tokenizer name picks regex and normalization") {
    const auto llama = build(base_metadata("llama-bpe"));
    CHECK(llama->pre_tokenizer() == "llama-bpe");
    CHECK(llama->encode("e\xCC\x81") == Ids{'e', 0xCC, 0x81});  // no NFC
    const auto gpt2 = build(base_metadata("gpt-2"));
    CHECK(gpt2->pre_tokenizer() == "gpt2");
    Metadata no_pre = base_metadata();
    no_pre.erase("tokenizer.ggml.pre");
    CHECK(build(no_pre)->pre_tokenizer() == "gpt2");
}

TEST_CASE("malformed or unsupported GGUF tokenizer metadata is a named error") {
    Metadata m = base_metadata();
    m.erase("tokenizer.ggml.model");
    check_error(m, ErrorCode::not_found, "tokenizer.ggml.model");

    m = base_metadata();
    m["tokenizer.ggml.model"] = str("llama");
    check_error(m, ErrorCode::unsupported, "'llama'");

    m = base_metadata("mystery-pre");
    check_error(m, ErrorCode::unsupported, "mystery-pre");

    m = base_metadata();
    m.erase("tokenizer.ggml.tokens");
    check_error(m, ErrorCode::bad_format, "tokenizer.ggml.tokens");

    m = base_metadata();
    m["tokenizer.ggml.tokens"] = str("not an array");
    check_error(m, ErrorCode::bad_format, "not an array");

    m = base_metadata();
    std::get<MetaArray>(m["tokenizer.ggml.tokens"].value)[7] = u32(7);
    check_error(m, ErrorCode::bad_format, "tokenizer.ggml.tokens'[7]");

    m = base_metadata();
    std::get<MetaArray>(m["tokenizer.ggml.token_type"].value).pop_back();
    check_error(m, ErrorCode::bad_format, "token types");

    m = base_metadata();
    std::get<MetaArray>(m["tokenizer.ggml.token_type"].value)[3] = i32(9);
    check_error(m, ErrorCode::bad_format, "token_type'[3]");

    m = base_metadata();
    m["tokenizer.ggml.merges"] = array({str("nospace")}, 8);
    check_error(m, ErrorCode::bad_format, "merges'[0]");

    m = base_metadata();
    m["tokenizer.ggml.eos_token_id"] = u32(5000);
    check_error(m, ErrorCode::bad_format, "5000");

    m = base_metadata();
    m["tokenizer.ggml.add_bos_token"] = u32(1);
    check_error(m, ErrorCode::bad_format, "add_bos_token");

    m = base_metadata();
    m["tokenizer.ggml.tokens"] = array({}, 8);
    m["tokenizer.ggml.token_type"] = array({}, 5);
    m.erase("tokenizer.ggml.bos_token_id");
    m.erase("tokenizer.ggml.eos_token_id");
    check_error(m, ErrorCode::bad_format, "no tokens");
}
