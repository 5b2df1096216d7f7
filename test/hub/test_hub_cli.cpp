// The apr binary (APR_CLI) with hf:// models against fake_hub.py: `apr run
// hf://...` downloads and answers, `apr download/pull/list/rm`, --offline.
#include <catch2/catch.hpp>

#include <array>
#include <cstdio>
#include <filesystem>

#include "formats/temp_dir.hpp"
#include "hub/fake_hub.hpp"
#include "support/shell.hpp"

namespace fs = std::filesystem;

namespace {

struct Cli {
    apr::test::TempDir dir;
    apr::test::FakeHub hub{dir / "requests.log"};

    // Runs `apr ARGS` with the cache and endpoint of this test; stderr is
    // kept apart so stdout can be compared exactly.
    std::string run(const std::string& args, int* exit_code, std::string* err = nullptr) {
        const char* cli = std::getenv("APR_CLI");
        REQUIRE(cli != nullptr);
        const fs::path err_path = dir / "stderr.txt";
        const std::string command = "HF_ENDPOINT=" + hub.endpoint() + " APR_CACHE=" + (dir / "cache").string() +
                                    " APR_HUB_RETRY_DELAY_MS=0 HF_HUB_OFFLINE= HF_TOKEN= " + cli + " " + args +
                                    " 2>" + err_path.string();
        const apr::test::ShellResult r = apr::test::run_shell(command);
        *exit_code = WIFEXITED(r.status) ? WEXITSTATUS(r.status) : -1;
        if (err) *err = apr::test::read_text_file(err_path);
        return r.out;
    }
};

const std::string kModel = "hf://apr-test/nano-GGUF/nano-q4_k_m.gguf";
const std::string kQuestion = "--prompt 'What is 2+2? Answer with just the number.' --max-tokens 10";

}  // namespace

TEST_CASE("apr run hf://... downloads the model and answers 4, then runs offline from the cache") {
    Cli cli;
    int code = -1;
    CHECK(cli.run("run " + kModel + " " + kQuestion, &code) == "4\n");
    CHECK(code == 0);
    CHECK(cli.hub.count({"\"GET\"", "/cdn/ok/"}) == 1);
    cli.hub.stop();
    CHECK(cli.run("run --offline " + kModel + " " + kQuestion, &code) == "4\n");
    CHECK(code == 0);
}

TEST_CASE("--offline without the cache fails clearly, in every command") {
    Cli cli;
    int code = -1;
    std::string err;
    cli.run("run " + kModel + " --offline " + kQuestion, &code, &err);
    CHECK(code == 1);
    CHECK_THAT(err, Catch::Contains("not in the cache") && Catch::Contains("--offline"));
    cli.run("inspect --offline " + kModel, &code, &err);
    CHECK(code == 1);
    CHECK_THAT(err, Catch::Contains("apr download " + kModel));
    CHECK(cli.hub.requests().empty());
}

TEST_CASE("apr download, pull, list and rm manage the cache") {
    Cli cli;
    int code = -1;
    std::string out = cli.run("download " + kModel, &code);
    CHECK(code == 0);
    const fs::path cached = cli.dir / "cache/models/apr-test/nano-GGUF/main/nano-q4_k_m.gguf";
    CHECK(out == cached.string() + "\n");
    CHECK(fs::file_size(cached) == fs::file_size(apr::test::vendored_models_dir() / "nano" / "nano-q4_k_m.gguf"));

    out = cli.run("pull hf://apr-test/tiny-st --output " + (cli.dir / "local").string(), &code);
    CHECK(code == 0);
    CHECK(out == (cli.dir / "local").string() + "\n");
    CHECK(fs::exists(cli.dir / "local" / "model-00002-of-00002.safetensors"));

    out = cli.run("list", &code);
    CHECK(code == 0);
    CHECK_THAT(out, Catch::Contains("hf://apr-test/nano-GGUF") && Catch::Contains("6.6 MB") &&
                        Catch::Contains("nano-q4_k_m.gguf"));
    CHECK_THAT(out, Catch::Contains("hf://apr-test/tiny-st") && Catch::Contains("repository, 7 files"));
    CHECK_THAT(cli.run("list --json", &code), Catch::StartsWith("[{\"uri\":\"hf://apr-test/nano-GGUF\""));

    out = cli.run("rm hf://apr-test/nano-GGUF", &code);
    CHECK(code == 0);
    CHECK_THAT(out, Catch::StartsWith("removed hf://apr-test/nano-GGUF"));
    CHECK_FALSE(fs::exists(cached));
    CHECK_THAT(cli.run("list", &code), !Catch::Contains("nano-GGUF"));
    std::string err;
    cli.run("rm hf://apr-test/nano-GGUF", &code, &err);
    CHECK(code == 1);
    CHECK_THAT(err, Catch::Contains("nothing of it is in the cache"));
}

TEST_CASE("apr download reports bad URIs, 404s and gated files clearly") {
    Cli cli;
    int code = -1;
    std::string err;
    cli.run("download hf://only-a-name", &code, &err);
    CHECK(code == 2);
    CHECK_THAT(err, Catch::Contains("malformed model URI"));
    cli.run("download hf://apr-test/blob/nothing.gguf", &code, &err);
    CHECK(code == 1);
    CHECK_THAT(err, Catch::Contains("404") && Catch::Contains("nothing.gguf") && Catch::Contains("apr-test/blob"));
    cli.run("download hf://apr-test/gated/data.bin", &code, &err);
    CHECK(code == 1);
    CHECK_THAT(err, Catch::Contains("HF_TOKEN"));
    cli.run("run hf:/typo/x.gguf --prompt hi", &code, &err);
    CHECK(code == 1);
    CHECK_THAT(err, Catch::Contains("hf:/typo/x.gguf"));
}

TEST_CASE("an interrupted apr download resumes on the next run") {
    Cli cli;
    int code = -1;
    std::string err;
    cli.run("download hf://apr-test/drop/data.bin", &code, &err);  // retries resume within the run
    CHECK(code == 0);
    CHECK(cli.hub.count({"\"GET\"", "/cdn/drop/", "bytes=524288-"}) == 1);
    const fs::path file = cli.dir / "cache/models/apr-test/drop/main/data.bin";
    CHECK(apr::test::read_text_file(file) == apr::test::fake_hub_pattern(1 << 20));
}

TEST_CASE("inspect, tokenize and detokenize take hf:// models like local paths") {
    Cli cli;
    int code = -1;
    const std::string local = (apr::test::vendored_models_dir() / "nano" / "nano-q4_k_m.gguf").string();
    const std::string ids = cli.run("tokenize " + local + " 'def f(): pass'", &code);
    REQUIRE(code == 0);
    CHECK(cli.run("tokenize " + kModel + " 'def f(): pass'", &code) == ids);
    CHECK(code == 0);
    CHECK(cli.run("detokenize " + kModel + " " + ids, &code) == "def f(): pass\n");
    CHECK_THAT(cli.run("inspect --json " + kModel, &code), Catch::StartsWith("{\"format\":\"gguf\""));
    CHECK(code == 0);
    CHECK(cli.hub.count({"\"GET\"", "/cdn/ok/"}) == 1);  // downloaded once, then cached
}
