// The built `apr inspect --json` on the vendored model prints the library's
// inspect_json object; a bad path exits 1 with nothing on stdout. Needs only
// files in the source tree, so it runs without the shared fixtures.
#include <catch2/catch.hpp>

#include "apr/model_file.hpp"
#include "formats/inspect_checks.hpp"
#include "support/fixtures.hpp"
#include "support/prerequisites.hpp"

using apr::test::check_inspect;
using apr::test::run_and_capture;

TEST_CASE("the built apr inspect --json prints the same object") {
    APR_REQUIRE_CLI(apr_exe);
    const auto model = apr::test::vendored_models_dir() / "nano" / "nano-q4_k_m.gguf";
    const std::string out = run_and_capture(apr_exe.string() + " inspect --json '" + model.string() + "'");
    check_inspect(out, {model.string(), "gguf", 50, 512, 4, 4, 2, 128, 1024, 2048, 2048, true, 2048});
    CHECK(out == apr::inspect_json(*apr::open_model_file(model)) + "\n");
    // A bad path: non-zero exit, message on stderr, nothing on stdout.
    const std::string bad = run_and_capture("'" + apr_exe.string() + "' inspect --json /no/such.gguf 2>/dev/null; echo rc=$?");
    CHECK(bad == "rc=1\n");
}
