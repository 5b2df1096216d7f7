// A whole Hugging Face repository (the nano fixture in SafeTensors form,
// served by fake_hub.py) through `apr run hf://OWNER/REPO`.
#include <catch2/catch.hpp>

#include <array>
#include <cstdio>

#include "formats/temp_dir.hpp"
#include "hub/fake_hub.hpp"
#include "support/shell.hpp"

TEST_CASE("apr run hf://OWNER/REPO downloads a SafeTensors repository and answers 4") {
    apr::test::TempDir dir;
    apr::test::FakeHub hub(dir / "requests.log", true);
    const char* cli = std::getenv("APR_CLI");
    REQUIRE(cli != nullptr);
    const std::string command = "HF_ENDPOINT=" + hub.endpoint() + " APR_CACHE=" + (dir / "cache").string() + " " +
                                cli + " run hf://apr-test/nano --prompt 'What is 2+2? Answer with just the number.'"
                                      " --max-tokens 10 2>/dev/null";
    const apr::test::ShellResult r = apr::test::run_shell(command);
    CHECK(r.status == 0);
    CHECK(r.out == "4\n");
    CHECK(hub.count({"/api/models/apr-test/nano/revision/main"}) == 1);
    CHECK(std::filesystem::exists(dir / "cache/models/apr-test/nano/main/.apr-complete"));
}
