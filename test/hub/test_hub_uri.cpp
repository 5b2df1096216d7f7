// hf:// URI parsing and the environment's settings (no network).
#include <catch2/catch.hpp>

#include <cstdlib>

#include "apr/error.hpp"
#include "apr/hub.hpp"
#include "formats/temp_dir.hpp"
#include "hub/progress.hpp"
#include "hub/verify.hpp"

using apr::hub::parse_uri;

namespace {

std::string error_of(const std::string& uri) {
    try {
        parse_uri(uri);
    } catch (const apr::Error& e) {
        CHECK(e.code() == apr::ErrorCode::invalid_argument);
        return e.what();
    }
    FAIL("no error for " << uri);
    return {};
}

}  // namespace

TEST_CASE("hf:// URIs name a repository, a file and a revision") {
    auto one = parse_uri("hf://Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf");
    CHECK(one.repo == "Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF");
    CHECK(one.revision == "main");
    CHECK_FALSE(one.revision_given);
    CHECK(one.file == "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf");

    auto repo = parse_uri("hf://Qwen/Qwen2.5-Coder-1.5B-Instruct");
    CHECK(repo.repo == "Qwen/Qwen2.5-Coder-1.5B-Instruct");
    CHECK(repo.file.empty());
    CHECK(parse_uri("hf://Qwen/Qwen2.5-Coder-1.5B-Instruct/").file.empty());

    auto rev = parse_uri("hf://a/b@v1.0/sub/dir/x.safetensors");
    CHECK(rev.revision == "v1.0");
    CHECK(rev.revision_given);
    CHECK(rev.file == "sub/dir/x.safetensors");
    CHECK(parse_uri("hf://a/b@refs%2Fpr%2F3/f.gguf").revision == "refs/pr/3");
    CHECK(rev.str() == "hf://a/b@v1.0/sub/dir/x.safetensors");
    CHECK(parse_uri("hf://a/b@refs%2Fpr%2F3/f.gguf").str() == "hf://a/b@refs%2Fpr%2F3/f.gguf");
    CHECK(one.str() == "hf://Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf");

    CHECK(apr::hub::is_hub_uri("hf://x"));
    CHECK_FALSE(apr::hub::is_hub_uri("models/nano/nano-q4_k_m.gguf"));
}

TEST_CASE("malformed hf:// URIs are refused with the reason") {
    CHECK_THAT(error_of("hf://gpt2"), Catch::Contains("both an owner and a repository"));
    CHECK_THAT(error_of("hf://"), Catch::Contains("both an owner and a repository"));
    CHECK_THAT(error_of("hf:///repo/file"), Catch::Contains("owner name is empty"));
    CHECK_THAT(error_of("hf://a/b//file"), Catch::Contains("empty segment"));
    CHECK_THAT(error_of("hf://a/b/../../etc/passwd"), Catch::Contains("'..'"));
    CHECK_THAT(error_of("hf://a/b/./x"), Catch::Contains("'.'"));
    CHECK_THAT(error_of("hf://a b/c"), Catch::Contains("character"));
    CHECK_THAT(error_of("hf://a/-b"), Catch::Contains("starts or ends"));
    CHECK_THAT(error_of("hf://a/b--c"), Catch::Contains("'--'"));
    CHECK_THAT(error_of("hf://a/b@/f"), Catch::Contains("revision after '@' is empty"));
    CHECK_THAT(error_of("hf://a/b@x%2/f"), Catch::Contains("escape"));
    CHECK_THAT(error_of("hf://a/b@..%2Fx/f"), Catch::Contains("not a branch"));
    CHECK_THAT(error_of("hf://a/b/x\\y"), Catch::Contains("backslash"));
    CHECK_THAT(error_of("https://huggingface.co/a/b"), Catch::Contains("does not start with hf://"));
    CHECK_THAT(error_of("hf://a/" + std::string(97, 'b')), Catch::Contains("96"));
    // the message says what a good one looks like
    CHECK_THAT(error_of("hf://gpt2"), Catch::Contains("hf://OWNER/REPO"));
}

TEST_CASE("settings come from HF_ENDPOINT, HF_TOKEN or its file, APR_CACHE and HF_HUB_OFFLINE") {
    apr::test::TempDir dir;
    apr::test::write_file(dir / "token", "  hf_filetoken\n");
    ::setenv("HF_ENDPOINT", "http://127.0.0.1:9/", 1);
    ::unsetenv("HF_TOKEN");
    ::unsetenv("HUGGING_FACE_HUB_TOKEN");
    ::setenv("HF_TOKEN_PATH", (dir / "token").c_str(), 1);
    ::setenv("APR_CACHE", (dir / "cache").c_str(), 1);
    ::setenv("HF_HUB_OFFLINE", "1", 1);
    auto s = apr::hub::settings();
    CHECK(s.endpoint == "http://127.0.0.1:9");
    CHECK(s.token == "hf_filetoken");
    CHECK(s.cache_dir == dir / "cache");
    CHECK(s.offline == true);
    CHECK(s.max_retries == 5);

    ::setenv("HF_TOKEN", "hf_envtoken", 1);
    ::setenv("HF_HUB_OFFLINE", "0", 1);
    s = apr::hub::settings();
    CHECK(s.token == "hf_envtoken");
    CHECK(s.offline == false);
    apr::hub::HubOptions given;
    given.token = "explicit";
    CHECK(apr::hub::settings(given).token == "explicit");

    ::setenv("HF_ENDPOINT", "ftp://x", 1);
    CHECK_THROWS_WITH(apr::hub::settings(), Catch::Contains("HF_ENDPOINT"));
    ::setenv("HF_ENDPOINT", "http://x", 1);
    ::setenv("APR_HUB_RETRIES", "lots", 1);
    CHECK_THROWS_WITH(apr::hub::settings(), Catch::Contains("APR_HUB_RETRIES"));
    for (const char* name : {"HF_ENDPOINT", "HF_TOKEN", "HF_TOKEN_PATH", "APR_CACHE", "HF_HUB_OFFLINE", "APR_HUB_RETRIES"})
        ::unsetenv(name);
}

TEST_CASE("etags become checksums: sha256, git blob sha1, or nothing checkable") {
    using Kind = apr::hub::ExpectedDigest::Kind;
    const auto sha = apr::hub::parse_etag("\"" + std::string(64, 'A') + "\"");
    REQUIRE(sha);
    CHECK(sha->kind == Kind::sha256);
    CHECK(sha->hex == std::string(64, 'a'));
    const auto git = apr::hub::parse_etag("W/\"" + std::string(40, '1') + "\"");
    REQUIRE(git);
    CHECK(git->kind == Kind::git_sha1);
    CHECK_FALSE(apr::hub::parse_etag("\"cdn-1234\""));
    CHECK_FALSE(apr::hub::parse_etag(""));

    apr::test::TempDir dir;
    apr::test::write_file(dir / "f", "hello\n");
    // `printf 'hello\n' | sha256sum` and `git hash-object`
    CHECK(apr::hub::file_digest(dir / "f", Kind::sha256) ==
          "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
    CHECK(apr::hub::file_digest(dir / "f", Kind::git_sha1) == "ce013625030ba8dba906f756967f9e9ca394464a");
}

TEST_CASE("the progress line shows name, percent, bytes, speed and ETA within the width") {
    apr::hub::Progress p{"model.gguf", 500'000'000, 1'000'000'000, 50'000'000};
    const std::string line = apr::hub::progress_line(p, 80);
    CHECK(line.size() <= 80);
    CHECK_THAT(line, Catch::StartsWith("model.gguf"));
    CHECK_THAT(line, Catch::Contains(" 50% 500.0 MB/1.0 GB"));
    CHECK_THAT(line, Catch::Contains("50.0 MB/s"));
    CHECK_THAT(line, Catch::Contains("ETA 0:10"));
    p.file = std::string(200, 'x') + ".gguf";
    CHECK(apr::hub::progress_line(p, 60).size() <= 60);
    CHECK_THAT(apr::hub::progress_line(p, 60), Catch::StartsWith("..."));
}
