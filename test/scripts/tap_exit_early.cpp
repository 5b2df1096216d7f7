// A deliberately broken test program for test_count_tests.py: its second
// case ends the process with status 0 before the third (failing) case and
// before the TAP plan. meson sees exit 0; the counter must still fail it.
#include <catch2/catch.hpp>

#include <cstdlib>

TEST_CASE("first case passes") { CHECK(1 + 1 == 2); }
TEST_CASE("second case exits the process early with status 0") { std::exit(0); }
TEST_CASE("third case would fail") { CHECK(1 + 1 == 3); }
