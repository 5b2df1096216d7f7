// Peak resident memory of loading the vendored Q4_K_M model and generating:
// the file is mapped, not copied, so the peak stays under file size + KV
// cache + 64 MB. Its own program, so nothing else inflates the peak.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include "apr/generate.hpp"
#include "apr/model.hpp"
#include "apr/session.hpp"
#include "support/fixtures.hpp"

namespace {
int64_t vm_hwm_bytes() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;  // kB
    return -1;
}
}  // namespace

TEST_CASE("peak RSS of the Q4_K_M model stays under file size + KV cache + 64 MB") {
    const auto path = apr::test::vendored_models_dir() / "nano" / "nano-q4_k_m.gguf";
    auto model = apr::Model::load(path);
    apr::Session session(*model);  // default context: the model's 2048 positions, f16
    apr::GenerateParams params;
    params.max_tokens = 16;
    apr::generate(session, "def fibonacci(n):", params);
    const auto& c = model->config();
    const int64_t kv_bytes = 2 * c.num_layers * session.context_length() * c.num_kv_heads * c.head_dim * 2;
    const int64_t file_bytes = static_cast<int64_t>(std::filesystem::file_size(path));
    const int64_t peak = vm_hwm_bytes();
    INFO("peak " << peak << " bytes; file " << file_bytes << ", KV cache " << kv_bytes);
    REQUIRE(peak > 0);
    CHECK(peak < file_bytes + kv_bytes + 64 * 1024 * 1024);
}
