// The Qwen2.5 and nano tokenizers against the reference ids in the shared
// fixtures (Hugging Face's output), loaded from GGUF and from tokenizer.json.
#include <simdjson.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <sstream>
#include <thread>
#include <vector>

#include "tokenizer/utf8_repair.hpp"
#include "tokenizer_fixtures.hpp"

using apr::Tokenizer;
using namespace apr::test;

namespace {

std::string str(simdjson::dom::element e) { return std::string(std::string_view(e)); }

std::vector<int32_t> ids_of(simdjson::dom::array array) {
    std::vector<int32_t> ids;
    for (const int64_t id : array) ids.push_back(static_cast<int32_t>(id));
    return ids;
}

struct VocabCase {
    std::string text;
    std::vector<int32_t> ids;
};

// llama.cpp's test-tokenizer-0 files: inputs separated by
// "\n__ggml_vocab_test__\n", one line of space-separated ids per input.
std::vector<VocabCase> llama_cpp_cases() {
    const std::string inp = read_text_file(qwen_dir() / "llama_cpp_vocab_test.inp");
    const std::string out = read_text_file(qwen_dir() / "llama_cpp_vocab_test.out");
    const std::string sep = "\n__ggml_vocab_test__\n";
    std::vector<VocabCase> cases;
    for (size_t pos = 0; pos < inp.size();) {
        const size_t end = inp.find(sep, pos);
        REQUIRE(end != std::string::npos);
        cases.push_back({inp.substr(pos, end - pos), {}});
        pos = end + sep.size();
    }
    std::istringstream lines(out);
    std::string line;
    size_t i = 0;
    while (std::getline(lines, line)) {
        REQUIRE(i < cases.size());
        std::istringstream numbers(line);
        int32_t id = 0;
        while (numbers >> id) cases[i].ids.push_back(id);
        ++i;
    }
    REQUIRE(i == cases.size());
    return cases;
}

void check_llama_cpp_cases(const Tokenizer& tok) {
    const auto cases = llama_cpp_cases();
    REQUIRE(cases.size() == 46);
    for (const auto& c : cases) {
        INFO("text: [" << c.text << "]");
        CHECK(tok.encode(c.text) == c.ids);
        CHECK(tok.decode(c.ids) == c.text);
    }
}

void check_tokenize_cases(const Tokenizer& tok) {
    simdjson::dom::parser parser;
    const simdjson::dom::element root = parser.load((qwen_dir() / "tokenize_cases.json").string());
    size_t count = 0;
    for (const simdjson::dom::element c : root["cases"].get_array()) {
        const std::string text = str(c["text"]);
        const std::string decoded = str(c["decoded"]);
        const auto ids = ids_of(c["ids"].get_array());
        INFO("case " << count << ": [" << text << "]");
        CHECK(tok.encode(text) == ids);
        CHECK(tok.decode(ids) == decoded);
        ++count;
    }
    CHECK(count == 55);
}

void check_chat_template_cases(const Tokenizer& tok) {
    simdjson::dom::parser parser;
    const simdjson::dom::element root = parser.load((qwen_dir() / "chat_template_cases.json").string());
    size_t count = 0;
    for (const simdjson::dom::element c : root["cases"].get_array()) {
        const std::string rendered = str(c["rendered"]);
        INFO("case " << count << ": [" << rendered << "]");
        const auto ids = ids_of(c["ids"].get_array());
        CHECK(tok.encode(rendered, true) == ids);
        CHECK(tok.decode(ids) == rendered);
        ++count;
    }
    CHECK(count == 7);
}

void check_nano_prompts(const Tokenizer& tok) {
    simdjson::dom::parser parser;
    const simdjson::dom::element root = parser.load((fixtures_dir() / "nano" / "reference_hf.json").string());
    size_t count = 0;
    for (const simdjson::dom::element c : root["cases"].get_array()) {
        const std::string text = str(c["prompt_text"]);
        INFO("case " << count << ": [" << text << "]");
        const auto ids = ids_of(c["prompt_ids"].get_array());
        CHECK(tok.encode(text) == ids);
        CHECK(tok.decode(ids) == text);
        ++count;
    }
    CHECK(count == 10);
}

}  // namespace

TEST_CASE("llama.cpp's Qwen2 vocab test vectors, from GGUF") { check_llama_cpp_cases(qwen_from_gguf()); }
TEST_CASE("llama.cpp's Qwen2 vocab test vectors, from tokenizer.json") { check_llama_cpp_cases(qwen_from_json()); }
TEST_CASE("tokenize_cases.json, from GGUF") { check_tokenize_cases(qwen_from_gguf()); }
TEST_CASE("tokenize_cases.json, from tokenizer.json") { check_tokenize_cases(qwen_from_json()); }
TEST_CASE("chat_template_cases.json, from GGUF") { check_chat_template_cases(qwen_from_gguf()); }
TEST_CASE("chat_template_cases.json, from tokenizer.json") { check_chat_template_cases(qwen_from_json()); }

TEST_CASE("nano prompts from every nano GGUF and from the HF directory") {
    for (const char* name : {"nano-f16.gguf", "nano-q8_0.gguf", "nano-q4_0.gguf", "nano-q4_k_m.gguf"}) {
        INFO(name);
        const auto tok = Tokenizer::from_file(fixtures_dir() / "nano" / "gguf" / name);
        check_nano_prompts(*tok);
    }
    const auto hf = Tokenizer::from_file(fixtures_dir() / "nano");
    check_nano_prompts(*hf);
}

namespace {

bool valid_utf8(std::string_view s) {
    std::string repaired;
    return apr::tokenizer::append_utf8_repaired(s, true, repaired) == s.size() && repaired == s;
}

void check_streaming(const Tokenizer& tok) {
    simdjson::dom::parser parser;
    const simdjson::dom::element root = parser.load((qwen_dir() / "tokenize_cases.json").string());
    for (const simdjson::dom::element c : root["cases"].get_array()) {
        const auto ids = ids_of(c["ids"].get_array());
        apr::StreamingDecoder stream(tok);
        std::string joined;
        for (const int32_t id : ids) {
            const std::string piece = stream.push(id);
            CHECK(valid_utf8(piece));
            joined += piece;
        }
        joined += stream.finish();
        CHECK(joined == str(c["decoded"]));
    }
}

void check_special_handling(const Tokenizer& tok) {
    const std::string text = "<|im_start|>user\n<tool_call>{}</tool_call><|im_end|>";
    const auto parsed = tok.encode(text);
    CHECK(parsed.front() == 151644);
    CHECK(std::count(parsed.begin(), parsed.end(), 151657) == 1);  // <tool_call>
    const auto plain = tok.encode(text, false);
    CHECK(std::count(plain.begin(), plain.end(), 151644) == 0);
    CHECK(std::count(plain.begin(), plain.end(), 151645) == 0);
    CHECK(std::count(plain.begin(), plain.end(), 151657) == 1);  // user-defined: still atomic
    CHECK(tok.decode(plain) == text);
    CHECK(tok.decode(parsed, true) == "user\n<tool_call>{}</tool_call>");
    CHECK(tok.is_control(151645));
    CHECK_FALSE(tok.is_control(151657));
    CHECK(tok.eos_id() == 151645);
    CHECK(tok.pad_id() == 151643);
    CHECK_FALSE(tok.add_bos());
    CHECK(tok.pre_tokenizer() == "qwen2");
    CHECK(tok.token_text(9707) == "Hello");
    CHECK(tok.token_id("Ġworld") == 1879);
}

}  // namespace

TEST_CASE("streaming decode of the reference cases gives whole characters, from GGUF") {
    check_streaming(qwen_from_gguf());
}
TEST_CASE("streaming decode of the reference cases gives whole characters, from tokenizer.json") {
    check_streaming(qwen_from_json());
}

TEST_CASE("special and user-defined tokens, ids and flags from both sources") {
    check_special_handling(qwen_from_gguf());
    check_special_handling(qwen_from_json());
    CHECK(qwen_from_gguf().vocab_size() == 151936);  // padded to the embedding rows
    CHECK(qwen_from_json().vocab_size() == 151665);
    CHECK(qwen_from_gguf().bos_id() == 151643);      // GGUF names one; tokenizer_config.json has none
    CHECK_FALSE(qwen_from_json().bos_id().has_value());
    CHECK(qwen_from_gguf().decode(std::vector<int32_t>{151700}).empty());  // an unused padding entry
}

TEST_CASE("encoding from several threads at once gives the same ids") {
    const Tokenizer& tok = qwen_from_json();
    const std::string text = read_text_file(qwen_dir() / "llama_cpp_vocab_test.inp");
    const auto expected = tok.encode(text);
    std::vector<std::vector<int32_t>> results(4);
    std::vector<std::thread> threads;
    for (auto& r : results)
        threads.emplace_back([&] {
            for (int i = 0; i < 20; ++i) r = tok.encode(text);
        });
    for (auto& t : threads) t.join();
    for (const auto& r : results) CHECK(r == expected);
}
