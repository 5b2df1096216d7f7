// inspect_json (what `apr inspect --json` and the C ABI print) for every
// fixture model, parsed back with simdjson. The built `apr inspect --json` on
// the vendored model is test_inspect_cli.cpp (it needs no fixtures).
#include <catch2/catch.hpp>
#include <simdjson.h>
#include <unistd.h>

#include <array>
#include <cstdio>

#include "apr/model_file.hpp"
#include "formats/inspect_checks.hpp"
#include "support/fixtures.hpp"

using apr::test::Expected;
using apr::test::check_inspect;


TEST_CASE("inspect JSON of every fixture model") {
    const auto fx = apr::test::fixtures_dir();
    const std::vector<Expected> cases = {
        {(fx / "nano/gguf/nano-f16.gguf").string(), "gguf", 50, 512, 4, 4, 2, 128, 1024, 2048, 2048, true, 2048},
        {(fx / "nano/gguf/nano-q8_0.gguf").string(), "gguf", 50, 512, 4, 4, 2, 128, 1024, 2048, 2048, true, 2048},
        {(fx / "nano/gguf/nano-q4_0.gguf").string(), "gguf", 50, 512, 4, 4, 2, 128, 1024, 2048, 2048, true, 2048},
        {(fx / "nano/gguf/nano-q4_k_m.gguf").string(), "gguf", 50, 512, 4, 4, 2, 128, 1024, 2048, 2048, true, 2048},
        {(fx / "qwen2.5-tokenizer/qwen2.5-vocab.gguf").string(), "gguf", 0, 1536, 28, 12, 2, 128, 8960, 151936, 32768,
         false, 151936},
        {(fx / "nano").string(), "hf_directory", 50, 512, 4, 4, 2, 128, 1024, 2048, 2048, true, 2038},
    };
    for (const auto& x : cases) {
        INFO(x.path);
        const auto file = apr::open_model_file(x.path);
        check_inspect(apr::inspect_json(*file), x);
    }
}
