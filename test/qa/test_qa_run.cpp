// qa_run / apr qa (docs/qa.md): the whole CPU matrix and every CPU tracing
// cell pass here, GPU cells are skipped (never passed) without a GPU, bad
// flags are usage errors naming the flag, and a model with one layer's
// weights zeroed fails its cells, so the matrix cannot pass vacuously.
#include <catch2/catch.hpp>

#include <simdjson.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "apr/device.hpp"
#include "apr/model_file.hpp"
#include "support/fixtures.hpp"
#include "support/prerequisites.hpp"
#include "support/shell.hpp"
#include "support/zeroed_model.hpp"

namespace {

std::filesystem::path temp_dir() {
    const auto dir = std::filesystem::temp_directory_path() / ("apr_test_qa_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    return dir;
}

std::string qa_run() {
    const char* env = std::getenv("APR_QA_RUN");
    return env ? env : "";
}

struct Output {
    std::string out, err;
    int status = -1;
};

Output run(const std::string& command) {
    const auto err = temp_dir() / "stderr.txt";
    const apr::test::ShellResult r = apr::test::run_shell(command + " 2> " + err.string());
    Output o;
    o.out = r.out;
    o.status = WIFEXITED(r.status) ? WEXITSTATUS(r.status) : -1;
    o.err = apr::test::read_text_file(err);
    return o;
}

struct CellResult {
    std::string status, reason;
    int64_t points = 0, max_points = 0;
};

struct QaJson {
    std::map<std::string, CellResult> cells;
    int64_t class_a = -1, class_b = -1, tracing = -1;
    bool ok = false;
};

QaJson read_json(const std::filesystem::path& file) {
    simdjson::dom::parser parser;
    simdjson::dom::element d = parser.load(file.string());
    QaJson q;
    for (simdjson::dom::element c : simdjson::dom::array(d["cells"])) {
        CellResult r;
        r.status = std::string(std::string_view(c["status"]));
        r.reason = std::string(std::string_view(c["reason"]));
        r.points = c["points"];
        r.max_points = c["max_points"];
        q.cells[std::string(std::string_view(c["id"]))] = r;
    }
    q.class_a = d["totals"]["class_a"]["points"];
    q.class_b = d["totals"]["class_b"]["points"];
    q.tracing = d["totals"]["tracing"]["points"];
    q.ok = bool(d["ok"]);
    return q;
}

bool gpu_ready() { return apr::device_status(apr::Device::cuda) == apr::DeviceStatus::ready; }

}  // namespace

TEST_CASE("qa_run --class all --matrix --tracing-tests: every CPU cell passes, GPU cells skip without a GPU") {
    APR_REQUIRE_CLI(cli);
    REQUIRE(!qa_run().empty());
    const auto json = temp_dir() / "all.json";
    const Output o = run(qa_run() + " --class all --matrix --tracing-tests --threads 2 --json " + json.string());
    INFO("stdout:\n" << o.out << "\nstderr:\n" << o.err);
    CHECK(o.status == 0);
    REQUIRE(std::filesystem::exists(json));
    const QaJson q = read_json(json);
    const bool gpu = gpu_ready();
    const bool fixtures = apr::test::have_fixtures();
    if (!fixtures) WARN("shared fixtures missing: class B must be reported SKIPPED");
    std::vector<std::string> cpu{"A1", "A2", "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9", "T10", "T11", "T12", "T13", "T14"};
    std::vector<std::string> gpu_cells{"A3", "A4", "T15"};
    if (fixtures) cpu.insert(cpu.end(), {"B1", "B2"});
    if (fixtures) gpu_cells.insert(gpu_cells.end(), {"B3", "B4"});
    CHECK(q.cells.size() == 23);
    for (const std::string& id : cpu) {
        INFO(id << ": " << (q.cells.count(id) ? q.cells.at(id).reason : "missing"));
        REQUIRE(q.cells.count(id) == 1);
        CHECK(q.cells.at(id).status == "PASS");
        CHECK(q.cells.at(id).points == q.cells.at(id).max_points);
    }
    for (const std::string& id : gpu_cells) {
        INFO(id << ": " << (q.cells.count(id) ? q.cells.at(id).reason : "missing"));
        REQUIRE(q.cells.count(id) == 1);
        if (gpu) {
            CHECK(q.cells.at(id).status == "PASS");
        } else {
            CHECK(q.cells.at(id).status == "SKIP");  // never PASS without a GPU
            CHECK(q.cells.at(id).points == 0);
            CHECK(q.cells.at(id).reason.find("no GPU") != std::string::npos);
        }
    }
    if (!fixtures)
        for (const char* id : {"B1", "B2"}) {
            REQUIRE(q.cells.count(id) == 1);
            CHECK(q.cells.at(id).status == "SKIP");
        }
    CHECK(q.cells.at("A1").max_points == 15);
    CHECK(q.cells.at("B1").max_points == 10);
    CHECK(q.cells.at("T1").max_points == 3);
    CHECK(q.class_a == (gpu ? 60 : 30));
    CHECK(q.class_b == (fixtures ? (gpu ? 40 : 20) : 0));
    CHECK(q.tracing == (gpu ? 45 : 42));
    CHECK(q.ok);
    // The table ends with the totals line.
    CHECK(o.out.find("Class A " + std::to_string(q.class_a) + "/60, Class B " + std::to_string(q.class_b) +
                     "/40, Tracing " + std::to_string(q.tracing) + "/45") != std::string::npos);
    std::filesystem::remove_all(temp_dir());
}

TEST_CASE("qa_run: a model with one layer's weights zeroed fails its cells") {
    REQUIRE(!qa_run().empty());
    const auto zeroed = temp_dir() / "zeroed.gguf";
    apr::test::write_zeroed_layer_copy(apr::test::vendored_models_dir() / "nano" / "nano-q4_k_m.gguf", zeroed, 2);
    const auto json = temp_dir() / "zeroed.json";
    const Output o = run(qa_run() + " --model " + zeroed.string() + " --class quantized --backend cpu --threads 2 --json " +
                         json.string());
    INFO("stdout:\n" << o.out << "\nstderr:\n" << o.err);
    CHECK(o.status == 1);
    const QaJson q = read_json(json);
    CHECK(!q.ok);
    REQUIRE(q.cells.size() == 2);
    for (const char* id : {"A1", "A2"}) {
        INFO(id << ": " << q.cells.at(id).reason);
        CHECK(q.cells.at(id).status == "FAIL");
        CHECK(q.cells.at(id).points < q.cells.at(id).max_points);
        CHECK(q.cells.at(id).reason.find("answers right") != std::string::npos);
    }
    CHECK(q.class_a < 30);
    CHECK(o.out.find("FAIL") != std::string::npos);
    std::filesystem::remove_all(temp_dir());
}

TEST_CASE("qa_run: bad flags are usage errors that name the flag") {
    REQUIRE(!qa_run().empty());
    const std::vector<std::pair<std::string, std::string>> cases{
        {"--class bogus", "--class"},
        {"--backend tpu", "--backend"},
        {"--format onnx", "--format"},
        {"--trace-level op", "--trace-level"},
        {"--model /nonexistent/model.gguf", "--model"},
        {"--hf-model /nonexistent/folder", "--hf-model"},
        {"--threads -3", "--threads"},
        {"--max-tokens 0", "--max-tokens"},
        {"--frobnicate", "--frobnicate"},
        {"stray", "stray"},
        {"--json", "--json"},
    };
    for (const auto& [flags, named] : cases) {
        const Output o = run(qa_run() + " " + flags);
        INFO(flags << " -> exit " << o.status << ", stderr: " << o.err);
        CHECK(o.status == 2);
        CHECK(o.err.find(named) != std::string::npos);
        CHECK(o.out.find("Class A") == std::string::npos);  // nothing ran
    }
    const Output help = run(qa_run() + " --help");
    CHECK(help.status == 0);
    CHECK(help.out.find("--tracing-tests") != std::string::npos);
    std::filesystem::remove_all(temp_dir());
}

TEST_CASE("apr qa runs the same code: the no-mode tracing cells through the subcommand") {
    APR_REQUIRE_CLI(cli);
    const auto json = temp_dir() / "apr_qa.json";
    const Output o = run(cli.string() + " qa --tracing-tests --trace-level none --backend cpu --threads 2 --json " + json.string());
    INFO("stdout:\n" << o.out << "\nstderr:\n" << o.err);
    CHECK(o.status == 0);
    const QaJson q = read_json(json);
    REQUIRE(q.cells.size() == 3);  // run, chat, serve without a mode
    for (const char* id : {"T1", "T6", "T10"}) {
        INFO(id << ": " << q.cells.at(id).reason);
        CHECK(q.cells.at(id).status == "PASS");
        CHECK(q.cells.at(id).points == 3);
    }
    CHECK(q.tracing == 9);
    CHECK(run(cli.string() + " qa --class nope").status == 2);
    std::filesystem::remove_all(temp_dir());
}

TEST_CASE("qa_run --with-ollama without llama.cpp or Ollama: parity skipped, naming what was looked for") {
    REQUIRE(!qa_run().empty());
    const auto json = temp_dir() / "parity.json";
    // Nothing to find: no APR_LLAMA_* paths, a PATH with nothing on it, an Ollama address nothing listens on.
    const Output o = run("env -u APR_LLAMA_SIMPLE -u APR_LLAMA_BENCH -u APR_OLLAMA_MODEL PATH=/nonexistent "
                         "OLLAMA_HOST=127.0.0.1:9 " + qa_run() + " --class quantized --backend cpu --format gguf "
                         "--with-ollama --threads 2 --json " + json.string());
    INFO("stdout:\n" << o.out << "\nstderr:\n" << o.err);
    CHECK(o.status == 0);
    simdjson::dom::parser parser;
    simdjson::dom::element d = parser.load(json.string());
    simdjson::dom::array lines = d["parity"]["lines"];
    REQUIRE(lines.size() == 3);
    for (simdjson::dom::element line : lines) {
        CHECK(std::string_view(line["status"]) == "SKIP");
        const std::string_view reason = line["reason"];
        CHECK(reason.find("llama-simple") != std::string_view::npos);
        CHECK(reason.find("llama-bench") != std::string_view::npos);
        CHECK(reason.find("Ollama server at 127.0.0.1:9") != std::string_view::npos);
    }
    CHECK(o.out.find("parity with nothing found") != std::string::npos);
    std::filesystem::remove_all(temp_dir());
}
