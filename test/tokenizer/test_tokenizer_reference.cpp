// The Qwen2.5 and nano tokenizers against the reference ids in the shared
// fixtures (Hugging Face's output), loaded from GGUF and from tokenizer.json.
#include <simdjson.h>

#include <catch2/catch.hpp>
#include <sstream>
#include <vector>

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
