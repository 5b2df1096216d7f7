// libFuzzer target for the tokenizer. The first input byte picks what the
// rest is used as:
//   0-3  text to encode (bit 0: parse_special) with a Qwen2-style tokenizer
//        (NFC, added tokens); decode_bytes(encode(text)) must give the text
//        back when it is already NFC
//   4-5  text to encode with a GPT-2-style tokenizer with add_prefix_space
//        and lstrip/rstrip tokens
//   6-7  token ids (little-endian int32) to decode, at once and streamed;
//        both must agree and produce valid UTF-8
//   8    a whole tokenizer.json
//   9    a tokenizer.json cut after the byte at the offset in the next two
//        input bytes, continued with the rest of the input
// The tokenizers are small ones built here (every byte, a few hundred merges,
// added tokens); APR_FUZZ_TOKENIZER may name a real tokenizer file instead of
// the Qwen2-style one. apr::Error is fine; crashes and sanitizer reports are
// bugs, and broken invariants abort.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "apr/error.hpp"
#include "apr/tokenizer.hpp"
#include "tokenizer/byte_level.hpp"
#include "tokenizer/unicode.hpp"
#include "tokenizer/utf8_repair.hpp"

namespace {

std::string json_string(std::string_view text) {
    std::string out = "\"";
    for (const char c : text) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

std::string piece_of(unsigned char byte) {
    std::string piece;
    apr::unicode::append_utf8(piece, apr::tokenizer::byte_level_alphabet()[byte]);
    return piece;
}

// Every byte, then merges of common letter pairs and of those pairs again.
std::string synthetic_json(bool gpt2) {
    std::string vocab, merges;
    int id = 0;
    for (int b = 0; b < 256; ++b) vocab += json_string(piece_of(static_cast<unsigned char>(b))) + ": " + std::to_string(id++) + ", ";
    const std::string letters = " etaoinshrdlc";
    std::vector<std::string> pairs;
    for (const char a : letters)
        for (const char b : letters) {
            const std::string left = piece_of(static_cast<unsigned char>(a)), right = piece_of(static_cast<unsigned char>(b));
            vocab += json_string(left + right) + ": " + std::to_string(id++) + ", ";
            merges += json_string(left + " " + right) + ", ";
            pairs.push_back(left + right);
        }
    for (size_t i = 0; i + 1 < pairs.size(); i += 7) {
        vocab += json_string(pairs[i] + pairs[i + 1]) + ": " + std::to_string(id++) + ", ";
        merges += json_string(pairs[i] + " " + pairs[i + 1]) + ", ";
    }
    vocab += "\"\xC3\xA9\xC3\xA9\": " + std::to_string(id++);  // never reachable: not byte-level text
    merges += "[\"\xC3\xA3\", \"\xC2\xA9\"]";
    const std::string strip = gpt2 ? "true" : "false";
    const std::string added =
        "{\"id\": " + std::to_string(id) + ", \"content\": \"<|end|>\", \"special\": true, \"lstrip\": " + strip +
        ", \"rstrip\": " + strip + "}, {\"id\": " + std::to_string(id + 1) +
        ", \"content\": \"<|end|>x\", \"special\": false}, {\"id\": " + std::to_string(id + 2) +
        ", \"content\": \"\xE2\x80\x83tool\", \"special\": false, \"lstrip\": " + strip + "}";
    const std::string pre =
        gpt2 ? R"({"type": "ByteLevel", "add_prefix_space": true, "use_regex": true})"
             : R"({"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}, "behavior": "Isolated", "invert": false}, {"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}]})";
    return "{\"added_tokens\": [" + added + "], \"normalizer\": " + (gpt2 ? "null" : "{\"type\": \"NFC\"}") +
           ", \"pre_tokenizer\": " + pre + ", \"model\": {\"type\": \"BPE\", \"vocab\": {" + vocab +
           "}, \"merges\": [" + merges + "]}}";
}

const std::string& qwen_style_json() {
    static const std::string json = synthetic_json(false);
    return json;
}

const apr::Tokenizer& qwen_style() {
    static const std::unique_ptr<apr::Tokenizer> tok = [] {
        if (const char* path = std::getenv("APR_FUZZ_TOKENIZER"); path && *path) return apr::Tokenizer::from_file(path);
        return apr::Tokenizer::from_tokenizer_json(qwen_style_json());
    }();
    return *tok;
}

const apr::Tokenizer& gpt2_style() {
    static const auto tok = apr::Tokenizer::from_tokenizer_json(synthetic_json(true));
    return *tok;
}

bool valid_utf8(std::string_view s) {
    std::string repaired;
    return apr::tokenizer::append_utf8_repaired(s, true, repaired) == s.size() && repaired == s;
}

void check_decode(const apr::Tokenizer& tok, const std::vector<int32_t>& ids) {
    for (const int32_t id : ids)
        if (id < 0 || id >= tok.vocab_size()) std::abort();
    for (const bool skip : {false, true}) {
        const std::string text = tok.decode(ids, skip);
        if (!valid_utf8(text)) std::abort();
        apr::StreamingDecoder stream(tok, skip);
        std::string streamed;
        for (const int32_t id : ids) streamed += stream.push(id);
        streamed += stream.finish();
        if (streamed != text) std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const uint8_t mode = data[0] % 10;
    const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
    try {
        if (mode <= 3) {
            const apr::Tokenizer& tok = qwen_style();
            const auto ids = tok.encode(rest, mode & 1);
            check_decode(tok, ids);
            // Without APR_FUZZ_TOKENIZER every byte has a token, so NFC text comes back exactly.
            const bool synthetic = !std::getenv("APR_FUZZ_TOKENIZER");
            if (synthetic && apr::unicode::is_nfc_quick(rest) && tok.decode_bytes(ids) != rest) std::abort();
        } else if (mode <= 5) {
            const auto ids = gpt2_style().encode(rest, mode & 1);
            check_decode(gpt2_style(), ids);
        } else if (mode <= 7) {
            const apr::Tokenizer& tok = mode == 6 ? qwen_style() : gpt2_style();
            std::vector<int32_t> ids(rest.size() / 4);
            if (!ids.empty()) std::memcpy(ids.data(), rest.data(), ids.size() * 4);
            bool all_valid = true;
            for (int32_t& id : ids) {
                if (mode == 6) id = static_cast<int32_t>(static_cast<uint32_t>(id) % 1000);  // mostly valid ids
                all_valid = all_valid && id >= 0 && id < tok.vocab_size();
            }
            if (all_valid) {
                check_decode(tok, ids);
            } else {
                (void)tok.decode(ids);  // must throw apr::Error
                std::abort();
            }
        } else if (mode == 8) {
            const auto tok = apr::Tokenizer::from_tokenizer_json(rest);
            (void)tok->encode("Hello <|end|> w\xC3\xB6rld 123\n\n  x");
        } else {
            if (rest.size() < 2) return 0;
            const std::string& base = qwen_style_json();
            const size_t cut = (static_cast<uint8_t>(rest[0]) | static_cast<size_t>(static_cast<uint8_t>(rest[1])) << 8) % base.size();
            const std::string json = base.substr(0, cut) + std::string(rest.substr(2));
            const auto tok = apr::Tokenizer::from_tokenizer_json(json);
            (void)tok->encode("Hello <|end|> w\xC3\xB6rld 123\n\n  x");
        }
    } catch (const apr::Error&) {
    }
    return 0;
}
