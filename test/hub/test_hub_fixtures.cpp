// A whole Hugging Face repository (the nano fixture in SafeTensors form,
// served by fake_hub.py) through `apr run hf://OWNER/REPO`.
#include <catch2/catch.hpp>

#include <array>
#include <cstdio>

#include "formats/temp_dir.hpp"
#include "hub/fake_hub.hpp"

TEST_CASE("apr run hf://OWNER/REPO downloads a SafeTensors repository and answers 4") {
    apr::test::TempDir dir;
    apr::test::FakeHub hub(dir / "requests.log", true);
    const char* cli = std::getenv("APR_CLI");
    REQUIRE(cli != nullptr);
    const std::string command = "HF_ENDPOINT=" + hub.endpoint() + " APR_CACHE=" + (dir / "cache").string() + " " +
                                cli + " run hf://apr-test/nano --prompt 'What is 2+2? Answer with just the number.'"
                                      " --max-tokens 10 2>/dev/null";
    FILE* pipe = popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::string out;
    std::array<char, 4096> buf;
    size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
    CHECK(pclose(pipe) == 0);
    CHECK(out == "4\n");
    CHECK(hub.count({"/api/models/apr-test/nano/revision/main"}) == 1);
    CHECK(std::filesystem::exists(dir / "cache/models/apr-test/nano/main/.apr-complete"));
}
