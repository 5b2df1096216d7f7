// Downloads through apr::hub against fake_hub.py on the loopback: verified
// files, resumed interruptions, refused corruption, whole repositories,
// offline use, gated and missing files, a full disk, concurrent downloads,
// and the cache's listing and removal.
#include <cstddef>
#include <catch2/catch.hpp>

#include <filesystem>
#include <set>
#include <thread>

#include "apr/error.hpp"
#include "apr/hub.hpp"
#include "apr/model_file.hpp"
#include "apr_hub.h"
#include "formats/temp_dir.hpp"
#include "hub/fake_hub.hpp"
#include "hub/verify.hpp"
#include "support/fixtures.hpp"

namespace fs = std::filesystem;
using apr::test::FakeHub;
using apr::test::TempDir;

namespace {

constexpr size_t kDataSize = 1 << 20;

struct HubFixture {
    TempDir dir;
    FakeHub hub{dir / "requests.log"};
    apr::hub::HubOptions options;
    HubFixture() {
        options.endpoint = hub.endpoint();
        options.cache_dir = dir / "cache";
        options.token = "";
        options.offline = false;
        options.max_retries = 0;
        options.retry_delay_ms = 0;
        options.progress = [](const apr::hub::Progress&) { return true; };
    }
};

// Catches the apr::Error of `body` and returns it; fails when none came.
template <typename Body>
apr::Error error_of(Body&& body) {
    try {
        body();
    } catch (const apr::Error& e) {
        return e;
    }
    FAIL("expected an apr::Error");
    return apr::Error(apr::ErrorCode::ok, "");
}

}  // namespace

TEST_CASE("a file download follows the redirect, verifies the sha256 and is not fetched twice") {
    HubFixture f;
    std::vector<apr::hub::Progress> reports;
    f.options.progress = [&](const apr::hub::Progress& p) {
        reports.push_back(p);
        return true;
    };
    const fs::path path = apr::hub::download("hf://apr-test/blob/data.bin", f.options);
    CHECK(path == f.dir / "cache" / "models" / "apr-test" / "blob" / "main" / "data.bin");
    CHECK(apr::test::read_text_file(path) == apr::test::fake_hub_pattern(kDataSize));
    CHECK(f.hub.count({"\"GET\"", "/cdn/ok/"}) == 1);  // the redirect target was fetched
    REQUIRE_FALSE(reports.empty());
    CHECK(reports.back().done == kDataSize);
    CHECK(reports.back().total == kDataSize);
    CHECK(reports.back().file == "data.bin");
    CHECK_FALSE(fs::exists(path.parent_path() / ".incomplete" / "data.bin.partial"));

    const size_t before = f.hub.requests().size();
    CHECK(apr::hub::download("hf://apr-test/blob/data.bin", f.options) == path);
    CHECK(f.hub.requests().size() == before);  // served from the cache, no request
}

TEST_CASE("a plain git file verifies against its blob sha1 ETag") {
    HubFixture f;
    const fs::path path = apr::hub::download("hf://apr-test/nano-GGUF/README.md", f.options);
    CHECK(apr::test::read_text_file(path) == "# nano\nA tiny test model.\n");
    CHECK(f.hub.count({"/cdn/"}) == 0);
}

TEST_CASE("a dropped connection leaves a partial file that the next run resumes with Range") {
    HubFixture f;
    const apr::Error e = error_of([&] { apr::hub::download("hf://apr-test/drop/data.bin", f.options); });
    CHECK(e.code() == apr::ErrorCode::io);
    CHECK_THAT(e.what(), Catch::Contains("next run resumes it"));
    const fs::path partial = f.dir / "cache/models/apr-test/drop/main/.incomplete/data.bin.partial";
    REQUIRE(fs::exists(partial));
    CHECK(fs::file_size(partial) == kDataSize / 2);
    CHECK_FALSE(fs::exists(f.dir / "cache/models/apr-test/drop/main/data.bin"));

    const fs::path path = apr::hub::download("hf://apr-test/drop/data.bin", f.options);
    CHECK(f.hub.count({"\"GET\"", "/cdn/drop/", "bytes=524288-"}) == 1);  // only the missing half
    CHECK(apr::test::read_text_file(path) == apr::test::fake_hub_pattern(kDataSize));
    CHECK_FALSE(fs::exists(partial));
}

TEST_CASE("with retries a dropped connection resumes within one call") {
    HubFixture f;
    f.options.max_retries = 2;
    const fs::path path = apr::hub::download("hf://apr-test/drop/data.bin", f.options);
    CHECK(apr::test::read_text_file(path) == apr::test::fake_hub_pattern(kDataSize));
    CHECK(f.hub.count({"\"GET\"", "/cdn/drop/", "bytes=524288-"}) == 1);
}

TEST_CASE("a corrupted download is refused, removed and not cached") {
    HubFixture f;
    f.options.max_retries = 2;
    const apr::Error e = error_of([&] { apr::hub::download("hf://apr-test/corrupt/data.bin", f.options); });
    CHECK(e.code() == apr::ErrorCode::io);
    CHECK_THAT(e.what(), Catch::Contains("checksum mismatch") && Catch::Contains("sha256"));
    const fs::path rev = f.dir / "cache/models/apr-test/corrupt/main";
    CHECK_FALSE(fs::exists(rev / "data.bin"));
    CHECK_FALSE(fs::exists(rev / ".incomplete/data.bin.partial"));
    f.options.offline = true;  // and nothing usable was left behind
    CHECK(error_of([&] { apr::hub::download("hf://apr-test/corrupt/data.bin", f.options); }).code() ==
          apr::ErrorCode::not_found);
}

TEST_CASE("a repository download takes config, tokenizer and the index's shards, nothing else") {
    HubFixture f;
    const fs::path dir = apr::hub::download("hf://apr-test/tiny-st", f.options);
    CHECK(dir == f.dir / "cache/models/apr-test/tiny-st/main");
    std::set<std::string> files;
    for (const auto& entry : fs::directory_iterator(dir))
        if (entry.is_regular_file() && !entry.path().filename().string().starts_with("."))
            files.insert(entry.path().filename().string());
    CHECK(files == std::set<std::string>{"config.json", "generation_config.json", "tokenizer.json",
                                         "tokenizer_config.json", "model.safetensors.index.json",
                                         "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"});
    CHECK(f.hub.count({"/api/models/apr-test/tiny-st/revision/main"}) == 1);
    const size_t before = f.hub.requests().size();
    CHECK(apr::hub::download("hf://apr-test/tiny-st", f.options) == dir);
    CHECK(f.hub.requests().size() == before);

    // a repository of GGUF files only: the error says to name a file
    const apr::Error e = error_of([&] { apr::hub::download("hf://apr-test/nano-GGUF", f.options); });
    CHECK(e.code() == apr::ErrorCode::unsupported);
    CHECK_THAT(e.what(), Catch::Contains("hf://apr-test/nano-GGUF/nano-q4_k_m.gguf"));
}

TEST_CASE("offline mode uses the cache and fails clearly without it") {
    HubFixture f;
    f.options.offline = true;
    apr::Error e = error_of([&] { apr::hub::download("hf://apr-test/blob/data.bin", f.options); });
    CHECK(e.code() == apr::ErrorCode::not_found);
    CHECK_THAT(e.what(), Catch::Contains("not in the cache") && Catch::Contains("HF_HUB_OFFLINE"));
    e = error_of([&] { apr::hub::download("hf://apr-test/tiny-st", f.options); });
    CHECK(e.code() == apr::ErrorCode::not_found);
    CHECK_THAT(e.what(), Catch::Contains("offline"));
    CHECK(f.hub.requests().empty());

    f.options.offline = false;
    apr::hub::download("hf://apr-test/blob/data.bin", f.options);
    apr::hub::download("hf://apr-test/tiny-st", f.options);
    f.hub.stop();  // no server at all now
    f.options.offline = true;
    CHECK(fs::exists(apr::hub::download("hf://apr-test/blob/data.bin", f.options)));
    CHECK(fs::exists(apr::hub::download("hf://apr-test/tiny-st", f.options) / "config.json"));
}

TEST_CASE("a gated file answers 401 without a token and the error mentions HF_TOKEN") {
    HubFixture f;
    apr::Error e = error_of([&] { apr::hub::download("hf://apr-test/gated/data.bin", f.options); });
    CHECK(e.code() == apr::ErrorCode::io);
    CHECK_THAT(e.what(), Catch::Contains("401") && Catch::Contains("HF_TOKEN") && Catch::Contains("gated"));
    f.options.token = "wrong";
    e = error_of([&] { apr::hub::download("hf://apr-test/gated/data.bin", f.options); });
    CHECK_THAT(e.what(), Catch::Contains("403") && Catch::Contains("HF_TOKEN"));
    f.options.token = "test-token";
    const fs::path path = apr::hub::download("hf://apr-test/gated/data.bin", f.options);
    CHECK(apr::test::read_text_file(path) == apr::test::fake_hub_pattern(kDataSize));
    CHECK(f.hub.count({"/resolve/", "Bearer test-token"}) == 2);  // HEAD and GET
}

TEST_CASE("missing repositories, files and revisions are named in a 404 error") {
    HubFixture f;
    apr::Error e = error_of([&] { apr::hub::download("hf://apr-test/blob/nope.gguf", f.options); });
    CHECK(e.code() == apr::ErrorCode::not_found);
    CHECK_THAT(e.what(), Catch::Contains("404") && Catch::Contains("'apr-test/blob'") && Catch::Contains("'nope.gguf'"));
    e = error_of([&] { apr::hub::download("hf://nobody/nothing/x.gguf", f.options); });
    CHECK_THAT(e.what(), Catch::Contains("repository 'nobody/nothing' not found"));
    e = error_of([&] { apr::hub::download("hf://apr-test/blob@v9/data.bin", f.options); });
    CHECK_THAT(e.what(), Catch::Contains("no revision 'v9'"));
    e = error_of([&] { apr::hub::download("hf://apr-test", f.options); });
    CHECK(e.code() == apr::ErrorCode::invalid_argument);
}

TEST_CASE("an unreachable endpoint is retried, then reported with the attempts") {
    TempDir dir;
    apr::hub::HubOptions o;
    o.endpoint = "http://127.0.0.1:9";  // discard port: nothing listens
    o.cache_dir = dir / "cache";
    o.offline = false;
    o.max_retries = 2;
    o.retry_delay_ms = 1;
    const apr::Error e = error_of([&] { apr::hub::download("hf://apr-test/blob/data.bin", o); });
    CHECK(e.code() == apr::ErrorCode::io);
    CHECK_THAT(e.what(), Catch::Contains("gave up after 3 attempts"));
}

TEST_CASE("a full disk stops the download with a clear error and nothing is cached") {
    HubFixture f;
    // The partial of the right etag is a link to /dev/full, where every
    // write fails with ENOSPC, as on a full disk.
    apr::test::write_file(f.dir / "expected", apr::test::fake_hub_pattern(kDataSize));
    const std::string sha = apr::hub::file_digest(f.dir / "expected", apr::hub::ExpectedDigest::Kind::sha256);
    const fs::path rev = f.dir / "cache/models/apr-test/blob/main";
    fs::create_directories(rev / ".incomplete");
    fs::create_symlink("/dev/full", rev / ".incomplete/data.bin.partial");
    apr::test::write_file(rev / ".incomplete/data.bin.etag", "\"" + sha + "\"");
    const apr::Error e = error_of([&] { apr::hub::download("hf://apr-test/blob/data.bin", f.options); });
    CHECK(e.code() == apr::ErrorCode::io);
    CHECK_THAT(e.what(), Catch::Contains("no space left on the device") && Catch::Contains("free some space"));
    CHECK_FALSE(fs::exists(rev / "data.bin"));
}

TEST_CASE("two concurrent downloads of one file fetch it once and both get it whole") {
    HubFixture f;
    fs::path a, b;
    std::thread first([&] { a = apr::hub::download("hf://apr-test/blob/data.bin", f.options); });
    std::thread second([&] { b = apr::hub::download("hf://apr-test/blob/data.bin", f.options); });
    first.join();
    second.join();
    CHECK(a == b);
    CHECK(apr::test::read_text_file(a) == apr::test::fake_hub_pattern(kDataSize));
    CHECK(f.hub.count({"\"GET\"", "/cdn/ok/"}) == 1);
}

TEST_CASE("a cancelled download keeps its partial file for later") {
    HubFixture f;
    f.options.progress = [](const apr::hub::Progress&) { return false; };  // stop at the first report
    const apr::Error e = error_of([&] { apr::hub::download("hf://apr-test/blob/data.bin", f.options); });
    CHECK(e.code() == apr::ErrorCode::cancelled);
    CHECK(fs::exists(f.dir / "cache/models/apr-test/blob/main/.incomplete/data.bin.partial"));
    const auto cached = apr::hub::list_cache(f.options);
    REQUIRE(cached.size() == 1);
    CHECK(cached[0].partial_bytes > 0);
    CHECK(cached[0].files.empty());
}

TEST_CASE("list_cache reports sizes and remove_from_cache frees files, revisions and repositories") {
    HubFixture f;
    apr::hub::download("hf://apr-test/blob/data.bin", f.options);
    apr::hub::download("hf://apr-test/tiny-st", f.options);
    apr::hub::download("hf://apr-test/nano-GGUF/README.md", f.options);
    auto cached = apr::hub::list_cache(f.options);
    REQUIRE(cached.size() == 3);
    CHECK(cached[0].repo == "apr-test/blob");
    CHECK(cached[0].bytes == kDataSize);
    CHECK(cached[0].files == std::vector<std::string>{"data.bin"});
    CHECK(cached[2].repo == "apr-test/tiny-st");
    CHECK(cached[2].complete_repository);
    CHECK(cached[2].files.size() == 7);
    CHECK_THAT(apr::hub::list_cache_json(f.options), Catch::Contains("\"uri\":\"hf://apr-test/blob\""));

    CHECK(apr::hub::remove_from_cache("hf://apr-test/tiny-st/config.json", f.options) > 0);
    cached = apr::hub::list_cache(f.options);
    CHECK_FALSE(cached[2].complete_repository);  // no longer whole
    CHECK(apr::hub::remove_from_cache("hf://apr-test/blob", f.options) == kDataSize);
    CHECK(apr::hub::remove_from_cache("hf://apr-test/tiny-st@main", f.options) > 0);
    CHECK(apr::hub::list_cache(f.options).size() == 1);
    CHECK_FALSE(fs::exists(f.dir / "cache/models/apr-test/blob"));
    const apr::Error e = error_of([&] { apr::hub::remove_from_cache("hf://apr-test/blob", f.options); });
    CHECK(e.code() == apr::ErrorCode::not_found);
}

TEST_CASE("open_model_file and the C ABI accept hf:// URIs") {
    HubFixture f;
    ::setenv("HF_ENDPOINT", f.hub.endpoint().c_str(), 1);
    ::setenv("APR_CACHE", (f.dir / "cache").c_str(), 1);
    ::setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1", 1);
    const auto file = apr::open_model_file("hf://apr-test/nano-GGUF/nano-q4_k_m.gguf");
    CHECK(file->format() == apr::FileFormat::gguf);
    CHECK(file->path() == f.dir / "cache/models/apr-test/nano-GGUF/main/nano-q4_k_m.gguf");

    apr_hub_params params;
    params.struct_size = sizeof(params);
    apr_hub_default_params(&params);
    CHECK(params.offline == -1);
    params.quiet = 1;
    char* path = nullptr;
    REQUIRE(apr_hub_download("hf://apr-test/blob/data.bin", &params, &path) == APR_OK);
    CHECK(fs::file_size(path) == kDataSize);
    apr_string_free(path);
    CHECK(apr_hub_download("hf://apr-test/blob/missing.bin", &params, &path) == APR_ERR_NOT_FOUND);
    CHECK(path == nullptr);
    CHECK_THAT(apr_last_error(), Catch::Contains("missing.bin"));
    CHECK(apr_hub_download("hf:/bad", &params, &path) == APR_ERR_INVALID_ARGUMENT);
    char* json = nullptr;
    REQUIRE(apr_hub_list_json(&params, &json) == APR_OK);
    CHECK_THAT(json, Catch::Contains("apr-test/blob"));
    apr_string_free(json);
    uint64_t freed = 0;
    CHECK(apr_hub_remove("hf://apr-test/blob", &params, &freed) == APR_OK);
    CHECK(freed == kDataSize);
    // The C progress callback follows libapr's rule: nonzero goes on, 0 cancels.
    params.progress_callback = [](const char*, uint64_t, uint64_t, double, void*) -> int32_t { return 0; };
    CHECK(apr_hub_download("hf://apr-test/blob/data.bin", &params, &path) == APR_ERR_CANCELLED);
    CHECK(path == nullptr);
    int calls = 0;
    params.progress_callback = [](const char*, uint64_t, uint64_t, double, void* user) -> int32_t {
        ++*static_cast<int*>(user);
        return 1;
    };
    params.progress_user_data = &calls;
    REQUIRE(apr_hub_download("hf://apr-test/blob/data.bin", &params, &path) == APR_OK);
    CHECK(calls > 0);
    apr_string_free(path);
    params.progress_callback = nullptr;
    // A struct_size inside a field is refused, as for every libapr struct.
    params.struct_size = offsetof(apr_hub_params, endpoint) + 4;
    CHECK(apr_hub_download("hf://apr-test/blob/data.bin", &params, &path) == APR_ERR_INVALID_ARGUMENT);
    params.struct_size = sizeof(params);
    apr_model_file* handle = nullptr;
    REQUIRE(apr_model_file_open("hf://apr-test/nano-GGUF/nano-q4_k_m.gguf", &handle) == APR_OK);
    CHECK(std::string(apr_model_file_format(handle)) == "gguf");
    apr_model_file_free(handle);
    for (const char* name : {"HF_ENDPOINT", "APR_CACHE", "HF_HUB_DISABLE_PROGRESS_BARS"}) ::unsetenv(name);
}
