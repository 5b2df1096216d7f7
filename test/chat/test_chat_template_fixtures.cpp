// ChatTemplate on the real templates the fixtures ship: Qwen2.5's template
// from tokenizer_config.json and from GGUF metadata must reproduce the text
// transformers' apply_chat_template rendered, byte for byte.
#include <catch2/catch.hpp>
#include <simdjson.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>

#include "apr/chat_template.hpp"
#include "apr/error.hpp"
#include "apr/model_file.hpp"
#include "support/fixtures.hpp"
#include "support/prerequisites.hpp"
#include "support/shell.hpp"

using apr::ChatTemplate;
namespace fx = apr::test;

namespace {

struct Case {
    std::string messages_json;
    std::string tools_json;  // empty: none
    bool add_generation_prompt = true;
    std::string expected;
};

std::vector<Case> qwen_cases() {
    static simdjson::dom::parser parser;
    const auto path = fx::fixtures_dir() / "qwen2.5-tokenizer" / "chat_template_cases.json";
    simdjson::padded_string text = simdjson::padded_string::load(path.string()).value();
    simdjson::dom::element root = parser.parse(text).value();
    std::vector<Case> cases;
    const simdjson::dom::array list = root["cases"].get_array().value();
    for (simdjson::dom::element c : list) {
        Case one;
        one.messages_json = simdjson::minify(c["messages"]);
        simdjson::dom::element tools;
        if (!c["tools"].get(tools)) one.tools_json = simdjson::minify(tools);
        one.add_generation_prompt = c["add_generation_prompt"].get_bool().value();
        one.expected = std::string(c["rendered"].get_string().value());
        cases.push_back(std::move(one));
    }
    return cases;
}

void check_qwen_cases(const ChatTemplate& tmpl) {
    const auto cases = qwen_cases();
    REQUIRE(cases.size() == 7);
    for (size_t i = 0; i < cases.size(); ++i) {
        INFO("chat_template_cases.json case " << i);
        const auto messages = apr::parse_messages_json(cases[i].messages_json);
        CHECK(tmpl.render(messages, cases[i].add_generation_prompt, cases[i].tools_json) == cases[i].expected);
    }
}

}  // namespace

TEST_CASE("Qwen2.5 template from tokenizer_config.json renders all 7 reference cases", "[chat][fixtures]") {
    const ChatTemplate tmpl = ChatTemplate::from_hf_path(fx::fixtures_dir() / "qwen2.5-tokenizer" / "tokenizer_config.json");
    CHECK_FALSE(tmpl.is_fallback());
    CHECK(tmpl.warning().empty());
    CHECK(tmpl.eos_token() == "<|im_end|>");
    CHECK(tmpl.bos_token().empty());  // bos_token is null in Qwen's config
    check_qwen_cases(tmpl);
}

TEST_CASE("Qwen2.5 template found from the tokenizer folder", "[chat][fixtures]") {
    const ChatTemplate tmpl = ChatTemplate::from_hf_path(fx::fixtures_dir() / "qwen2.5-tokenizer");
    CHECK_FALSE(tmpl.is_fallback());
    check_qwen_cases(tmpl);
}

TEST_CASE("Qwen2.5 template from the vocab-only GGUF's tokenizer.chat_template", "[chat][fixtures][gguf]") {
    const auto file = apr::open_model_file(fx::fixtures_dir() / "qwen2.5-tokenizer" / "qwen2.5-vocab.gguf");
    const ChatTemplate tmpl = ChatTemplate::from_model_file(*file);
    CHECK_FALSE(tmpl.is_fallback());
    CHECK(tmpl.eos_token() == "<|im_end|>");
    check_qwen_cases(tmpl);
}

TEST_CASE("nano model's template gives every chat prompt_text of reference_hf.json", "[chat][fixtures]") {
    simdjson::dom::parser parser;
    simdjson::padded_string text =
        simdjson::padded_string::load((fx::fixtures_dir() / "nano" / "reference_hf.json").string()).value();
    simdjson::dom::element root = parser.parse(text).value();
    const ChatTemplate from_config = ChatTemplate::from_hf_path(fx::fixtures_dir() / "nano");
    const auto gguf = apr::open_model_file(fx::fixtures_dir() / "nano" / "gguf" / "nano-q8_0.gguf");
    const ChatTemplate from_gguf = ChatTemplate::from_model_file(*gguf);
    CHECK_FALSE(from_config.is_fallback());
    CHECK_FALSE(from_gguf.is_fallback());
    size_t chat_cases = 0;
    const simdjson::dom::array list = root["cases"].get_array().value();
    for (simdjson::dom::element c : list) {
        if (std::string_view(c["kind"].get_string().value()) != "chat") continue;
        const auto messages = apr::parse_messages_json(simdjson::minify(c["messages"]));
        const std::string expected(c["prompt_text"].get_string().value());
        INFO("reference_hf.json chat case " << chat_cases);
        CHECK(from_config.render(messages) == expected);
        CHECK(from_gguf.render(messages) == expected);
        ++chat_cases;
    }
    CHECK(chat_cases == 7);
}

TEST_CASE("nano as a Hugging Face folder opened with open_model_file", "[chat][fixtures]") {
    const auto file = apr::open_model_file(fx::fixtures_dir() / "nano");
    const ChatTemplate tmpl = ChatTemplate::from_model_file(*file);
    CHECK_FALSE(tmpl.is_fallback());
    CHECK(tmpl.eos_token() == "<|im_end|>");
    CHECK(tmpl.render({{"user", "Hi", ""}}) ==
          "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
          "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
}

TEST_CASE("the built apr template prints the reference prompt", "[chat][fixtures][cli]") {
    APR_REQUIRE_CLI(apr_exe);
    const Case with_tools = qwen_cases().at(4);  // tool definitions, a tool call and two tool responses
    REQUIRE_FALSE(with_tools.tools_json.empty());
    const auto dir = std::filesystem::temp_directory_path() / ("apr_template_cli_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "messages.json") << with_tools.messages_json;
    std::ofstream(dir / "tools.json") << with_tools.tools_json;
    const auto gguf = fx::fixtures_dir() / "qwen2.5-tokenizer" / "qwen2.5-vocab.gguf";
    const std::string command = "'" + apr_exe.string() + "' template '" + gguf.string() + "' --messages '" +
                                (dir / "messages.json").string() + "' --tools '" + (dir / "tools.json").string() + "'";
    const apr::test::ShellResult r = apr::test::run_shell(command);
    std::filesystem::remove_all(dir);
    CHECK(r.status == 0);
    CHECK(r.out == with_tools.expected);
    // A usage mistake exits with status 2.
    const int usage = std::system(("'" + apr_exe.string() + "' template 2>/dev/null").c_str());
    CHECK(WEXITSTATUS(usage) == 2);
}
