// The interpreter against real Jinja2: every case in data/jinja_cases.json
// was rendered by Jinja2 3.1 configured like transformers (see
// data/make_jinja_cases.py); we must produce the same text, or fail where
// Jinja2 raised.
#include <catch2/catch.hpp>
#include <simdjson.h>

#include <filesystem>

#include "apr/error.hpp"
#include "chat/json_value.hpp"
#include "chat/parser.hpp"
#include "chat/render.hpp"
#include "support/fixtures.hpp"

namespace {

std::filesystem::path data_dir() {
    // Tests run from the source root; fall back to this file's folder.
    const std::filesystem::path relative = "test/chat/data";
    if (std::filesystem::exists(relative)) return relative;
    return std::filesystem::path(__FILE__).parent_path() / "data";
}

std::string render_with_context(const std::string& source, std::string_view context_json) {
    apr::chat::Template parsed = apr::chat::parse_template(source);
    const apr::chat::Value context = apr::chat::parse_json(context_json, "context");
    apr::chat::Scope globals;
    for (const auto& [key, value] : context.as_object().items()) globals[key] = value;
    apr::chat::Renderer renderer{apr::chat::RenderLimits{}};
    return renderer.render(parsed, std::move(globals));
}

}  // namespace

TEST_CASE("templates render exactly as Jinja2 renders them", "[chat][jinja]") {
    const auto path = data_dir() / "jinja_cases.json";
    REQUIRE(std::filesystem::exists(path));
    simdjson::dom::parser parser;
    simdjson::padded_string text = simdjson::padded_string::load(path.string()).value();
    simdjson::dom::array cases = parser.parse(text).get_array().value();
    size_t checked = 0;
    for (simdjson::dom::element c : cases) {
        const std::string name(c["name"].get_string().value());
        const std::string source(c["template"].get_string().value());
        const std::string context = simdjson::minify(c["context"]);
        std::string_view expected;
        const bool expect_error = c["expected"].get_string().get(expected) != simdjson::SUCCESS;
        INFO("case " << name << "\ntemplate: " << source);
        if (expect_error) {
            INFO("Jinja2 raised: " << std::string_view(c["error"].get_string().value()));
            CHECK_THROWS_AS(render_with_context(source, context), apr::Error);
        } else {
            std::string got;
            REQUIRE_NOTHROW(got = render_with_context(source, context));
            CHECK(got == std::string(expected));
        }
        ++checked;
    }
    CHECK(checked == 69);  // every case of jinja_cases.json; a shorter list fails
}
