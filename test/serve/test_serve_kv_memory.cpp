// `apr serve` on the paged KV cache: eight --parallel slots with a 32,768-
// position window cost memory only for the positions they hold. The model is
// a small random one written here by the project's own tool code: the nano
// model's shape and tokenizer (models/nano, vendored), but a file that says
// it was trained for 32,768 positions. Its f16 weights get an f32 cache by
// default: 8 KiB per position, so eight full windows would be 2 GiB, while
// the requests below hold a few thousand positions.
//
// What is measured: the server's resident memory (/proc/PID/statm) before
// and after the requests, against the positions and bytes its /metrics say
// the slots hold (apr_kv_cache_positions, apr_kv_cache_bytes).
#include <catch2/catch.hpp>

#include <fmt/core.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "apr/model_file.hpp"
#include "formats/temp_dir.hpp"
#include "serve/serve_process.hpp"
#include "support/fixtures.hpp"
#include "support/shell.hpp"
#include "tools/random_model_metadata.hpp"
#include "tools/random_model_plan.hpp"
#include "tools/random_model_writer.hpp"

using apr::test::JsonDoc;
using apr::test::ServeProcess;

namespace {

constexpr int64_t kContext = 32768;
constexpr int64_t kBlock = 256;  // positions per cache block (lib/model/kv_layout.hpp)

// nano's shape (4 layers, 2 KV heads of 128) and tokenizer, random f16
// weights, a 32,768-position trained context. Written once per program.
const std::filesystem::path& model_32k() {
    static apr::test::TempDir dir;
    static const std::filesystem::path path = [] {
        const auto nano = apr::open_model_file(apr::test::vendored_models_dir() / "nano" / "nano-q4_k_m.gguf");
        apr::tools::Qwen2Shape shape = apr::tools::shape_from_vocab_file(*nano);
        shape.context = kContext;
        shape.separate_output = false;
        const auto type = apr::tools::RandomModelType::f16;
        const auto p = dir.path() / "nano-shaped-32k-f16.gguf";
        apr::tools::write_random_model(p, apr::tools::random_model_metadata(*nano, shape, type, 11),
                                       apr::tools::plan_random_model(shape, type), 11);
        return p;
    }();
    return path;
}

// 2 * kv_heads * head_dim * layers values per position.
int64_t values_per_position() { return 2 * 2 * 128 * 4; }

int64_t rss_of(pid_t pid) {
    std::ifstream in(fmt::format("/proc/{}/statm", pid));
    int64_t size = 0, resident = 0;
    in >> size >> resident;
    return resident * static_cast<int64_t>(sysconf(_SC_PAGESIZE));
}

// The value of an unlabelled metric in Prometheus text; -1 when absent.
int64_t metric(const std::string& text, const std::string& name) {
    const std::regex re("\n" + name + " ([0-9]+)\n");
    std::smatch m;
    return std::regex_search(text, m, re) ? std::stoll(m[1]) : -1;
}

std::string metrics_of(const ServeProcess& server) {
    auto c = server.client();
    auto r = c.Get("/metrics");
    REQUIRE(r);
    REQUIRE(r->status == 200);
    return r->body;
}

// A raw completion of `words` words after request `index`'s own first word;
// returns prompt + completion tokens. The first words share no token, so no
// two requests share a prefix: a request that arrives after another has
// finished (a loaded machine) takes an empty slot rather than evicting the
// finished one (the scheduler prefers the longest shared prefix, and "slot0"
// and "slot7" would share "slot"), and a later short request of the same
// index finds its own slot by its prefix.
int64_t complete(const ServeProcess& server, int index, int words, int max_tokens) {
    static const char* const kFirstWords[] = {"Apple", "Banana", "Cherry", "Delta", "Echo", "Foxtrot", "Golf", "Hotel"};
    std::string prompt = fmt::format("{} ", kFirstWords[index % 8]);
    for (int i = 0; i < words; ++i) prompt += (i % 3 == 0) ? "alpha " : (i % 3 == 1 ? "beta " : "gamma ");
    auto c = server.client(240);
    const std::string body =
        fmt::format(R"({{"prompt":"{}","max_tokens":{},"temperature":0}})", prompt, max_tokens);
    auto r = c.Post("/v1/completions", body, "application/json");
    if (!r) {
        UNSCOPED_INFO("request " << index << ": no response: " << httplib::to_string(r.error()));
        return -1;
    }
    if (r->status != 200) {
        UNSCOPED_INFO("request " << index << ": status " << r->status << ": " << r->body);
        return -1;
    }
    JsonDoc d(r->body);
    return int64_t(d.root["usage"]["prompt_tokens"]) + int64_t(d.root["usage"]["completion_tokens"]);
}

}  // namespace

TEST_CASE("eight slots with a 32,768-position window hold memory only for their positions (f32 cache)") {
    ServeProcess server({model_32k().string(), "--parallel", "8", "--ctx-size", std::to_string(kContext)});
    INFO("server log:\n" << server.log());
    CHECK(server.log().find("8 slot(s) of 32768 tokens (f32 KV cache") != std::string::npos);

    const std::string idle = metrics_of(server);
    CHECK(metric(idle, "apr_kv_cache_bytes") == 0);
    CHECK(metric(idle, "apr_kv_cache_positions") == 0);
    const int64_t rss_idle = rss_of(server.pid());

    // Eight requests at once, so every slot holds a sequence: 100 to 450
    // prompt words each, a few thousand positions in all.
    std::vector<int64_t> held(8, 0);
    std::vector<std::thread> clients;
    for (int i = 0; i < 8; ++i)
        clients.emplace_back([&, i] { held[static_cast<size_t>(i)] = complete(server, i, 100 + 50 * i, 4); });
    for (auto& t : clients) t.join();
    int64_t answered = 0;
    for (int64_t h : held) answered += h > 0 ? 1 : 0;
    REQUIRE(answered == 8);

    const std::string after = metrics_of(server);
    const int64_t positions = metric(after, "apr_kv_cache_positions");
    const int64_t kv_bytes = metric(after, "apr_kv_cache_bytes");
    const int64_t position_bytes = values_per_position() * 4;  // f32
    const int64_t block_bytes = position_bytes * kBlock;
    const int64_t rss_after = rss_of(server.pid());
    INFO("after 8 requests: positions held " << positions << ", KV bytes " << kv_bytes << ", RSS idle " << rss_idle
                                             << " after " << rss_after);
    // Each slot keeps its sequence (prefix reuse): at least the prompts, and
    // at most the prompts and their completions (the last token is not evaluated).
    int64_t sum = 0;
    for (int64_t h : held) sum += h;
    CHECK(positions >= sum - 8 * 5);
    CHECK(positions <= sum);
    // Whole blocks: at least the positions, at most one partly filled block per slot more.
    CHECK(kv_bytes % block_bytes == 0);
    CHECK(kv_bytes >= positions * position_bytes);
    CHECK(kv_bytes <= (positions / kBlock + 8) * block_bytes);
    // Measured: resident memory grew by about what the cache holds (the rows
    // written; untouched pages of a partly filled block need not be
    // resident), and the whole server stays far below eight full windows (2 GiB).
    const int64_t full_windows = 8 * kContext * position_bytes;
    CHECK(rss_after - rss_idle >= positions * position_bytes * 9 / 10);
    CHECK(rss_after - rss_idle <= kv_bytes + (64 << 20));
    CHECK(rss_after < full_windows / 4);

    // Short requests sharing only each slot's first words: every slot is cut
    // back to a few positions (one block), the blocks past them go back to
    // the system, and resident memory falls by about what they held.
    for (int i = 0; i < 8; ++i) REQUIRE(complete(server, i, 2, 1) > 0);
    const std::string small = metrics_of(server);
    const int64_t positions_small = metric(small, "apr_kv_cache_positions");
    const int64_t kv_bytes_small = metric(small, "apr_kv_cache_bytes");
    const int64_t rss_small = rss_of(server.pid());
    INFO("after 8 short requests: positions held " << positions_small << ", KV bytes " << kv_bytes_small << ", RSS "
                                                   << rss_small);
    CHECK(positions_small <= 8 * 16);
    CHECK(kv_bytes_small == 8 * block_bytes);
    // What was written past the kept blocks is no longer resident.
    CHECK(rss_after - rss_small >= (positions * position_bytes - kv_bytes_small) * 8 / 10);
}

TEST_CASE("--kv-type q8_0 on the server: 34 bytes per 32 values, whole blocks") {
    ServeProcess server({model_32k().string(), "--parallel", "2", "--kv-type", "q8_0"});
    INFO("server log:\n" << server.log());
    CHECK(server.log().find("2 slot(s) of 32768 tokens (q8_0 KV cache") != std::string::npos);
    REQUIRE(complete(server, 0, 200, 4) > 0);
    const std::string m = metrics_of(server);
    const int64_t positions = metric(m, "apr_kv_cache_positions");
    const int64_t kv_bytes = metric(m, "apr_kv_cache_bytes");
    INFO("positions " << positions << ", bytes " << kv_bytes);
    const int64_t position_bytes = values_per_position() / 32 * 34;
    CHECK(positions > 200);
    CHECK(kv_bytes == (positions + kBlock - 1) / kBlock * kBlock * position_bytes);
}

TEST_CASE("serve refuses a bad --kv-type and a --ctx-size past the model's trained context, naming both") {
    const char* cli = std::getenv("APR_CLI");
    REQUIRE(cli != nullptr);
    const auto bad_type =
        apr::test::run_shell(fmt::format("'{}' serve '{}' --port 0 --kv-type f8 2>&1", cli, model_32k().string()));
    INFO(bad_type.out);
    CHECK(WEXITSTATUS(bad_type.status) == 2);
    CHECK(bad_type.out.find("--kv-type must be auto, f32, f16 or q8_0, got 'f8'") != std::string::npos);

    const auto too_long = apr::test::run_shell(
        fmt::format("'{}' serve '{}' --port 0 --threads 2 --ctx-size 40000 2>&1", cli, model_32k().string()));
    INFO(too_long.out);
    CHECK(WEXITSTATUS(too_long.status) != 0);
    CHECK(too_long.out.find("40000") != std::string::npos);
    CHECK(too_long.out.find("32768") != std::string::npos);
}
