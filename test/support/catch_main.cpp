// Shared main() of the Catch2 test programs. A program built with
// APR_TEST_NEEDS_FIXTURES needs ../shared/fixtures (or $APR_FIXTURES_DIR).
// When it is missing the program skips itself, loudly (TAP "1..0 # SKIP",
// which meson and scripts/count_tests.py report as skipped) - except under
// CI=true, where a missing fixture folder is a failure naming the folder:
// CI must never turn "the references were not there" into a green run.
#define CATCH_CONFIG_RUNNER
#define CATCH_CONFIG_EXTERNAL_INTERFACES
#include <catch2/catch.hpp>

#include <cstdio>

#include "support/fixtures.hpp"
#include "support/prerequisites.hpp"
#include "support/tap_cases_reporter.hpp"

int main(int argc, char** argv) {
#ifdef APR_TEST_NEEDS_FIXTURES
    if (!apr::test::have_fixtures()) {
        const std::string dir = apr::test::fixtures_dir().string();
        const bool ci = apr::test::in_ci();
        std::fprintf(stderr,
                     "\n**********************************************************************\n"
                     "*** %s: shared fixtures not found at %s\n"
                     "*** These tests need the real model files; set APR_FIXTURES_DIR.\n"
                     "**********************************************************************\n\n",
                     ci ? "FAILED (CI=true)" : "SKIPPED", dir.c_str());
        if (ci) {
            std::printf("not ok 1 - shared fixtures folder %s is missing (CI=true refuses to run blind)\n1..1\n",
                        dir.c_str());
            return 1;
        }
        std::printf("1..0 # SKIP shared fixtures not found at %s\n", dir.c_str());
        return 0;
    }
#endif
    return Catch::Session().run(argc, argv);
}
