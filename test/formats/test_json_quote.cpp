// JSON string quoting used by inspect_json: escapes and invalid UTF-8.
#include <catch2/catch.hpp>

#include "formats/inspect_json.hpp"

TEST_CASE("json_quote escapes what JSON requires and replaces invalid UTF-8") {
    using apr::formats::json_quote;
    CHECK(json_quote("plain") == "\"plain\"");
    CHECK(json_quote("a\"b\\c") == "\"a\\\"b\\\\c\"");
    CHECK(json_quote("line\nnext\ttab\r") == "\"line\\nnext\\ttab\\r\"");
    CHECK(json_quote(std::string("\x01\x1f", 2)) == "\"\\u0001\\u001f\"");
    CHECK(json_quote(std::string("nul\0x", 5)) == "\"nul\\u0000x\"");
    CHECK(json_quote("h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80") == "\"h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
    CHECK(json_quote("bad\xff") == "\"bad\\ufffd\"");
    CHECK(json_quote("\xc0\xaf") == "\"\\ufffd\\ufffd\"");       // overlong
    CHECK(json_quote("\xed\xa0\x80") == "\"\\ufffd\\ufffd\\ufffd\"");  // surrogate
    CHECK(json_quote("cut\xe2\x82") == "\"cut\\ufffd\\ufffd\"");
    CHECK(apr::formats::json_number_text(1e-6) == "1e-06");
    CHECK(apr::formats::json_number_text(1000000.0) == "1000000");
    CHECK(apr::formats::json_number_text(1.0 / 0.0) == "null");
}
