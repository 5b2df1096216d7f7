// Shared main() of the Catch2 test programs. A program built with
// APR_TEST_NEEDS_FIXTURES skips itself, loudly, when ../shared/fixtures is
// missing (TAP "1..0 # SKIP" which meson reports as skipped).
#define CATCH_CONFIG_RUNNER
#define CATCH_CONFIG_EXTERNAL_INTERFACES
#include <catch2/catch.hpp>

#include <cstdio>

#include "support/fixtures.hpp"
#include "support/tap_cases_reporter.hpp"

int main(int argc, char** argv) {
#ifdef APR_TEST_NEEDS_FIXTURES
    if (!apr::test::have_fixtures()) {
        const std::string dir = apr::test::fixtures_dir().string();
        std::fprintf(stderr,
                     "\n**********************************************************************\n"
                     "*** SKIPPED: shared fixtures not found at %s\n"
                     "*** These tests need the real model files; set APR_FIXTURES_DIR.\n"
                     "**********************************************************************\n\n",
                     dir.c_str());
        std::printf("1..0 # SKIP shared fixtures not found at %s\n", dir.c_str());
        return 0;
    }
#endif
    return Catch::Session().run(argc, argv);
}
