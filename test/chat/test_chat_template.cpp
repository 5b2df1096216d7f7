// apr::ChatTemplate through its public interface: whole real-world templates
// (Llama 3.1, Gemma, Mistral) against Jinja2's output, template discovery in
// tokenizer folders, the ChatML fallback, error reporting and the limits
// that keep hostile templates from crashing or hanging.
#include <catch2/catch.hpp>
#include <simdjson.h>

#include <filesystem>
#include <fstream>

#include "apr/chat_template.hpp"
#include "apr/error.hpp"
#include "apr/model_file.hpp"
#include "support/fixtures.hpp"

using apr::ChatMessage;
using apr::ChatTemplate;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

fs::path data_dir() {
    const fs::path relative = "test/chat/data";
    if (fs::exists(relative)) return relative;
    return fs::path(__FILE__).parent_path() / "data";
}

// A fresh empty folder under the system temp dir, removed at scope exit.
struct TempDir {
    fs::path path;
    TempDir() {
        path = fs::temp_directory_path() / ("apr_chat_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter()++));
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    static int& counter() {
        static int n = 0;
        return n;
    }
    void write(const std::string& name, const std::string& text) const { std::ofstream(path / name, std::ios::binary) << text; }
};

apr::ErrorCode code_of(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const apr::Error& e) {
        return e.code();
    }
    return apr::ErrorCode::ok;
}

std::string message_of(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const apr::Error& e) {
        return e.what();
    }
    return "(no error)";
}

const std::vector<ChatMessage> kHi = {{"user", "Hi", ""}};

}  // namespace

TEST_CASE("Llama 3.1, Qwen3, Gemma and Mistral templates render as Jinja2 renders them", "[chat]") {
    simdjson::dom::parser parser;
    simdjson::padded_string text = simdjson::padded_string::load((data_dir() / "chat_cases.json").string()).value();
    const simdjson::dom::array cases = parser.parse(text).get_array().value();
    size_t checked = 0;
    for (simdjson::dom::element c : cases) {
        const std::string name(c["name"].get_string().value());
        INFO("case " << name);
        std::string_view file, inline_source;
        std::string source;
        if (!c["template_file"].get_string().get(file)) source = apr::test::read_text_file(data_dir() / std::string(file));
        else source = std::string(c["template"].get_string().value());
        const ChatTemplate tmpl = ChatTemplate::from_source(source, std::string(c["bos_token"].get_string().value()),
                                                            std::string(c["eos_token"].get_string().value()));
        const auto messages = apr::parse_messages_json(simdjson::minify(c["messages"]));
        std::string tools;
        simdjson::dom::element tools_element;
        if (!c["tools"].get(tools_element)) tools = simdjson::minify(tools_element);
        const bool generation_prompt = c["add_generation_prompt"].get_bool().value();
        std::string_view expected;
        if (c["expected"].get_string().get(expected) == simdjson::SUCCESS) {
            CHECK(tmpl.render(messages, generation_prompt, tools) == std::string(expected));
        } else {
            const std::string error(c["error"].get_string().value());
            const std::string raised = error.substr(error.find(": ") + 2);  // Jinja2's raise_exception text
            CHECK_THAT(message_of([&] { tmpl.render(messages, generation_prompt, tools); }), Contains(raised));
        }
        ++checked;
    }
    CHECK(checked == 9);
}

TEST_CASE("chatml() renders the ChatML format", "[chat]") {
    const ChatTemplate tmpl = ChatTemplate::chatml();
    CHECK(tmpl.is_fallback());
    const std::vector<ChatMessage> chat = {{"system", "S", ""}, {"user", "U", ""}, {"assistant", "A", ""}};
    CHECK(tmpl.render(chat, false) == "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n"
                                      "<|im_start|>assistant\nA<|im_end|>\n");
    CHECK(tmpl.render(kHi) == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
}

TEST_CASE("templates are found in tokenizer folders the way transformers finds them", "[chat]") {
    TempDir dir;
    SECTION("a folder without any template falls back to ChatML with a warning") {
        dir.write("tokenizer_config.json", R"({"eos_token": {"content": "</s>", "lstrip": false}, "bos_token": "<s>"})");
        const ChatTemplate tmpl = ChatTemplate::from_hf_path(dir.path);
        CHECK(tmpl.is_fallback());
        CHECK_THAT(tmpl.warning(), Contains("no chat template"));
        CHECK(tmpl.bos_token() == "<s>");
        CHECK(tmpl.eos_token() == "</s>");
        CHECK(tmpl.render(kHi) == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    }
    SECTION("a list of named templates: 'default' is used") {
        dir.write("tokenizer_config.json",
                  R"({"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D{{ bos_token }}{{ eos_token }}"}],
                      "bos_token": {"content": "<s>"}, "eos_token": "</s>"})");
        const ChatTemplate tmpl = ChatTemplate::from_hf_path(dir.path / "tokenizer_config.json");
        CHECK_FALSE(tmpl.is_fallback());
        CHECK(tmpl.warning().empty());
        CHECK(tmpl.render(kHi) == "D<s></s>");
    }
    SECTION("a list without 'default': the first one, with a warning") {
        dir.write("tokenizer_config.json", R"({"chat_template": [{"name": "rag", "template": "R"}]})");
        const ChatTemplate tmpl = ChatTemplate::from_hf_path(dir.path);
        CHECK(tmpl.render(kHi) == "R");
        CHECK_THAT(tmpl.warning(), Contains("rag"));
    }
    SECTION("chat_template.jinja beside tokenizer_config.json wins") {
        dir.write("tokenizer_config.json", R"({"chat_template": "config", "eos_token": "<e>"})");
        dir.write("chat_template.jinja", "jinja {{ messages[0].content }}{{ eos_token }}\n");
        CHECK(ChatTemplate::from_hf_path(dir.path).render(kHi) == "jinja Hi<e>");
        CHECK(ChatTemplate::from_hf_path(dir.path / "chat_template.jinja").render(kHi) == "jinja Hi<e>");
        CHECK(ChatTemplate::from_hf_path(dir.path / "tokenizer_config.json").render(kHi) == "config");
    }
    SECTION("chat_template.json (processor style)") {
        dir.write("chat_template.json", R"({"chat_template": "P{{ messages | length }}"})");
        CHECK(ChatTemplate::from_hf_path(dir.path).render(kHi) == "P1");
    }
    SECTION("a template outside the supported subset falls back to ChatML, saying why") {
        dir.write("chat_template.jinja", "line one\n{% include 'other.jinja' %}");
        const ChatTemplate tmpl = ChatTemplate::from_hf_path(dir.path);
        CHECK(tmpl.is_fallback());
        CHECK_THAT(tmpl.warning(), Contains("chat template:2:4: unknown or unsupported tag 'include'"));
        CHECK(tmpl.render(kHi) == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    }
    SECTION("missing and malformed sources are errors naming the file") {
        CHECK(code_of([&] { ChatTemplate::from_hf_path(dir.path / "nope"); }) == apr::ErrorCode::not_found);
        dir.write("tokenizer_config.json", R"({"chat_template": 5})");
        CHECK_THAT(message_of([&] { ChatTemplate::from_hf_path(dir.path); }), Contains("tokenizer_config.json"));
        dir.write("tokenizer_config.json", "{not json");
        CHECK(code_of([&] { ChatTemplate::from_hf_path(dir.path); }) == apr::ErrorCode::bad_format);
    }
}

TEST_CASE("syntax errors name the line and column", "[chat][errors]") {
    auto parse_error = [](const std::string& source) {
        return message_of([&] { ChatTemplate::from_source(source); });
    };
    CHECK_THAT(parse_error("ok\n{% if x %}\n  {{ x + }}\n{% endif %}"), Contains("chat template:3:10"));
    CHECK_THAT(parse_error("{% if x %}never closed"), Contains("expected elif or else or endif"));
    CHECK_THAT(parse_error("a\n  {{ x"), Contains("chat template:2:3: tag '{{' is never closed"));
    CHECK_THAT(parse_error("{% frobnicate %}"), Contains("unknown or unsupported tag 'frobnicate'"));
    CHECK_THAT(parse_error("{# open comment"), Contains("comment is never closed"));
    CHECK_THAT(parse_error("{{ 'unterminated }}"), Contains("string literal is never closed"));
    CHECK_THAT(parse_error("{{ x @ y }}"), Contains("unexpected character '@'"));
    CHECK_THAT(parse_error("{% endfor %}"), Contains("unknown or unsupported tag 'endfor'"));
    CHECK(code_of([&] { ChatTemplate::from_source("{{ }}"); }) == apr::ErrorCode::bad_format);
}

TEST_CASE("runtime errors name the line and column and keep raise_exception's text", "[chat][errors]") {
    const ChatTemplate raising = ChatTemplate::from_source(
        "{% for m in messages %}\n{% if m.role == 'user' %}\n  {{ raise_exception('no users: ' ~ m.content) }}\n{% endif %}{% endfor %}");
    const std::string message = message_of([&] { raising.render(kHi); });
    CHECK_THAT(message, Contains("chat template:3:"));
    CHECK_THAT(message, Contains("no users: Hi"));
    CHECK_THAT(message_of([&] { ChatTemplate::from_source("\n{{ messages[0].content + 1 }}").render(kHi); }),
               Contains("chat template:2:"));
    CHECK_THAT(message_of([&] { ChatTemplate::from_source("{{ missing.attr }}").render(kHi); }),
               Contains("'missing' is undefined"));
    CHECK_THAT(message_of([&] { ChatTemplate::from_source("{{ x | nosuch }}").render(kHi); }),
               Contains("unknown filter 'nosuch'"));
    CHECK_THAT(message_of([&] { ChatTemplate::from_source("{{ messages[5].role }}").render(kHi); }),
               Contains("list object has no element 5"));
    CHECK_THAT(message_of([&] { ChatTemplate::from_source("{{ messages[0].nope.x }}").render(kHi); }),
               Contains("'dict object' has no attribute 'nope'"));
}

TEST_CASE("hostile templates stop with an error instead of crashing or hanging", "[chat][limits]") {
    auto fails = [](const std::string& source) {
        return code_of([&] { ChatTemplate::from_source(source).render(kHi); }) != apr::ErrorCode::ok;
    };
    CHECK(fails("{{ " + std::string(100000, '(') + " }}"));
    CHECK(fails("{{ " + std::string(5000, '[') + " }}"));
    CHECK(fails("{{ " + std::string(5000, '-') + "1 }}"));
    std::string chain = "{{ 1";
    for (int i = 0; i < 20000; ++i) chain += "+1";
    CHECK(fails(chain + " }}"));
    std::string attrs = "{{ x";
    for (int i = 0; i < 20000; ++i) attrs += ".a";
    CHECK(fails(attrs + " }}"));
    std::string ifs;
    for (int i = 0; i < 2000; ++i) ifs += "{% if true %}";
    CHECK(fails(ifs));
    // Runaway loops, exponential strings, self-recursion and deep values.
    CHECK(fails("{% for i in range(1000000) %}{% for j in range(1000000) %}{% endfor %}{% endfor %}"));
    CHECK(fails("{% for i in range(100000000000) %}x{% endfor %}"));
    CHECK(fails("{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}"));
    CHECK(fails("{{ 'x' * 100000000000 }}"));
    CHECK(fails("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}"));
    CHECK(fails("{% set ns = namespace(x=[]) %}{% for i in range(1000) %}{% set ns.x = [ns.x] %}{% endfor %}{{ ns.x }}"));
    CHECK(fails("{% set ns = namespace() %}{% set ns.me = ns %}"));
    CHECK(fails("{% set ns = namespace() %}{% set ns.x = [ns] %}{{ ns }}"));  // used to overflow the stack
    CHECK(fails("{% set ns = namespace() %}{% set ns.x = {'a': [1, {'b': ns}]} %}{{ ns }}"));
    CHECK(fails("{% set ns = namespace() %}{% set ns2 = namespace(x=[ns]) %}"));
    CHECK(fails("{% set ns = namespace() %}{% set d = {'n': ns} %}{% set ns.f = d.get %}{{ ns }}"));
    CHECK(fails("{% set ns = namespace(l=[1]) %}{% for i in range(64) %}{% set ns.l = [ns.l, ns.l] %}{% endfor %}{{ ns.l | tojson }}"));
    // Big strings are shared, not copied, and scanning them is charged
    // (found while chasing a slow fuzz_template input: these ran for minutes).
    CHECK(fails("{% set s = 'x' * 16000000 %}{% for i in range(1000000) %}{% set t = s %}{% endfor %}"));
    CHECK(fails("{% set s = 'x' * 16000000 %}{% for i in range(1000000) %}{{ s[0] }}{% endfor %}"));
    CHECK(fails("{% set s = 'x' * 16000000 %}{% for i in range(1000000) %}{{ s[:1] }}{% endfor %}"));
    CHECK(fails("{% set s = 'x' * 16000000 %}{% for i in range(1000000) %}{{ s.startswith('y') }}{% endfor %}"));
    // Work inside builtins counts against the step budget too.
    CHECK(fails("{% for i in range(1000000) %}{{ range(1000000) | length }}{% endfor %}"));
    CHECK(fails("{% set s = 'x' * 1000000 %}{% for i in range(1000000) %}{{ s.upper() | length }}{% endfor %}"));
    CHECK(fails("{% set l = range(100000) | list %}{% for i in l %}{% if i in l %}{% endif %}{% endfor %}"));
    CHECK(fails("{% set ns = namespace(a=[1], b=[1]) %}{% for i in range(100) %}{% set ns.a = [ns.a, ns.a] %}"
                "{% set ns.b = [ns.b, ns.b] %}{% endfor %}{{ ns.a == ns.b }}"));
}

TEST_CASE("tools and tool calls reach the template as JSON values", "[chat]") {
    const ChatTemplate tmpl = ChatTemplate::from_source(
        "{{ tools is none }}|{% for t in tools or [] %}{{ t.function.name }}{% endfor %}|"
        "{% for m in messages %}{{ m.tool_calls is defined }}{% for c in m.tool_calls %}{{ c.function.arguments | tojson }}{% endfor %};{% endfor %}");
    const std::vector<ChatMessage> chat = {{"user", "q", ""},
                                           {"assistant", "", R"([{"function":{"name":"f","arguments":{"b":1,"a":[true,null]}}}])"}};
    CHECK(tmpl.render(chat, false) == R"(True||False;True{"b": 1, "a": [true, null]};)");
    CHECK(tmpl.render(chat, false, R"([{"function":{"name":"f"}},{"function":{"name":"g"}}])") ==
          R"(False|fg|False;True{"b": 1, "a": [true, null]};)");
    CHECK(code_of([&] { tmpl.render(chat, false, "{bad"); }) == apr::ErrorCode::invalid_argument);
    CHECK(code_of([&] { tmpl.render(chat, false, R"({"not": "a list"})"); }) == apr::ErrorCode::invalid_argument);
}

TEST_CASE("parse_messages_json reads OpenAI-style messages and names bad fields", "[chat]") {
    const auto messages = apr::parse_messages_json(
        R"([{"role": "system", "content": "S"}, {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
            {"role": "assistant", "content": null, "tool_calls": [{"function": {"name": "f", "arguments": "{\"x\": 1}"}}]},
            {"role": "tool"}])");
    REQUIRE(messages.size() == 4);
    CHECK(messages[0].role == "system");
    CHECK(messages[0].content == "S");
    CHECK(messages[1].content == "ab");
    CHECK(messages[2].content.empty());
    CHECK(messages[2].tool_calls_json == R"([{"function":{"name":"f","arguments":"{\"x\": 1}"}}])");
    CHECK(messages[3].content.empty());
    auto error = [](const std::string& json) { return message_of([&] { apr::parse_messages_json(json); }); };
    CHECK_THAT(error(R"({"role": "user"})"), Contains("expected a JSON array"));
    CHECK_THAT(error(R"([{"role": "user", "content": "x"}, {"content": "y"}])"), Contains("messages[1].role: missing"));
    CHECK_THAT(error(R"([{"role": 5}])"), Contains("messages[0].role: expected a string"));
    CHECK_THAT(error(R"([{"role": "user", "content": 5}])"), Contains("messages[0].content"));
    CHECK_THAT(error(R"([{"role": "user", "content": [{"type": "image"}]}])"), Contains("messages[0].content[0]"));
    CHECK_THAT(error(R"([{"role": "assistant", "tool_calls": {}}])"), Contains("messages[0].tool_calls"));
    CHECK_THAT(error("[{"), Contains("invalid JSON"));
    CHECK(code_of([&] { apr::parse_messages_json("[1]"); }) == apr::ErrorCode::invalid_argument);
}

TEST_CASE("the vendored default model carries a usable template", "[chat][gguf]") {
    const auto file = apr::open_model_file(apr::test::vendored_models_dir() / "nano" / "nano-q4_k_m.gguf");
    const ChatTemplate tmpl = ChatTemplate::from_model_file(*file);
    CHECK_FALSE(tmpl.is_fallback());
    const std::string prompt = tmpl.render({{"user", "Hi", ""}});
    CHECK(prompt ==
          "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
          "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
}
