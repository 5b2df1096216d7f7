// main() of the GPU test programs: on a machine without an NVIDIA device (or
// a build without CUDA) the program skips itself loudly (TAP "1..0 # SKIP");
// where a device or driver is present but CUDA fails, it fails instead, so
// a broken driver can never pass as a skip. APR_TEST_NEEDS_FIXTURES also
// skips when the shared fixtures are missing, as catch_main.cpp does.
#define CATCH_CONFIG_RUNNER
#define CATCH_CONFIG_EXTERNAL_INTERFACES
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>

#include "model/cuda_backend.hpp"
#include "support/fixtures.hpp"
#include "support/tap_cases_reporter.hpp"

namespace {
int skip(const std::string& why) {
    std::fprintf(stderr,
                 "\n**********************************************************************\n"
                 "*** SKIPPED: %s\n"
                 "**********************************************************************\n\n",
                 why.c_str());
    std::printf("1..0 # SKIP %s\n", why.c_str());
    return 0;
}
}  // namespace

int main(int argc, char** argv) {
    std::string why;
    switch (apr::model::probe_cuda(&why)) {
        case apr::model::CudaProbe::ready: break;
        case apr::model::CudaProbe::absent: return skip("no CUDA GPU: " + why);
        case apr::model::CudaProbe::broken:
            std::fprintf(stderr, "*** FAILED: an NVIDIA device or driver is present but CUDA does not work: %s\n",
                         why.c_str());
            std::printf("1..1\nnot ok 1 - CUDA works on this machine (%s)\n", why.c_str());
            return 1;
    }
#ifdef APR_TEST_NEEDS_FIXTURES
    if (!apr::test::have_fixtures()) return skip("shared fixtures not found at " + apr::test::fixtures_dir().string());
#endif
    return Catch::Session().run(argc, argv);
}
