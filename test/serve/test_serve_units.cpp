// The server's pure parts: the JSON value (parse, dump, escaping) and the
// Qwen2.5 <tool_call> parser, fed whole and split at every byte as a stream
// delivers it.
#include <catch2/catch.hpp>

#include "serve/json.hpp"
#include "serve/tool_calls.hpp"

using apr::serve::Json;
using apr::serve::ToolCall;
using apr::serve::ToolCallParser;

TEST_CASE("serve json: parse keeps order and types; dump escapes and repairs UTF-8") {
    const Json j = Json::parse(R"({"b":1,"a":[true,null,2.5,"x\ny"],"c":{"d":-3}})");
    REQUIRE(j.is_object());
    CHECK(j.members()[0].first == "b");
    CHECK(j.find("b")->is_integer());
    CHECK(j.find("a")->items()[2].as_double() == 2.5);
    CHECK(j.find("c")->find("d")->as_int() == -3);
    CHECK(j.dump() == R"({"b":1,"a":[true,null,2.5,"x\ny"],"c":{"d":-3}})");
    CHECK(Json(std::string("q\"\\\x01")).dump() == R"("q\"\\\u0001")");
    CHECK(Json(std::string("caf\xC3\xA9 \xFF")).dump() == "\"caf\xC3\xA9 \xEF\xBF\xBD\"");
    CHECK_THROWS_AS(Json::parse("{\"a\":"), apr::serve::JsonParseError);
    CHECK_THROWS_AS(Json::parse("[1,]"), apr::serve::JsonParseError);
}

namespace {
const std::string kText = "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\n"
                          "<tool_call>\n{\"name\": \"get_time\", \"arguments\": \"{\\\"tz\\\": \\\"CET\\\"}\"}\n</tool_call>";

void check_calls(const std::vector<ToolCall>& calls) {
    REQUIRE(calls.size() == 2);
    CHECK(calls[0].name == "get_weather");
    CHECK(calls[0].arguments_text() == R"({"city":"Paris"})");
    CHECK(calls[1].name == "get_time");
    CHECK(calls[1].arguments.find("tz")->as_string() == "CET");  // string arguments are parsed when they are JSON
}
}  // namespace

TEST_CASE("tool calls: whole text gives the content before the calls and both calls") {
    ToolCallParser p;
    std::vector<ToolCall> calls;
    std::string content = p.push(kText, calls);
    content += p.finish(calls);
    CHECK(content == "Let me check.\n\n");
    check_calls(calls);
}

TEST_CASE("tool calls: streamed in pieces of every size, the same result and no tag leaks") {
    for (size_t step = 1; step <= 13; ++step) {
        ToolCallParser p;
        std::vector<ToolCall> calls;
        std::string content;
        for (size_t i = 0; i < kText.size(); i += step) {
            const std::string piece = p.push(kText.substr(i, step), calls);
            CHECK(piece.find('<') == std::string::npos);
            content += piece;
        }
        content += p.finish(calls);
        CHECK(content == "Let me check.\n\n");
        check_calls(calls);
    }
}

TEST_CASE("tool calls: text without calls passes through at once; a broken call comes back as text") {
    ToolCallParser p;
    std::vector<ToolCall> calls;
    CHECK(p.push("a < b and <tool", calls) == "a < b and ");
    CHECK(p.push("box> c", calls) == "<toolbox> c");
    CHECK(p.finish(calls).empty());
    CHECK(calls.empty());
    ToolCallParser broken;
    std::string out = broken.push("<tool_call>{not json}</tool_call> ok", calls);
    out += broken.finish(calls);
    CHECK(out == "<tool_call>{not json}</tool_call> ok");
    CHECK(calls.empty());
    ToolCallParser unterminated;
    out = unterminated.push("<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n", calls);
    out += unterminated.finish(calls);
    CHECK(out.empty());
    REQUIRE(calls.size() == 1);
    CHECK(calls[0].name == "f");
}
