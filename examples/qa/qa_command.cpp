#include "qa_command.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <thread>

#include "apr/error.hpp"
#include "qa_matrix.hpp"
#include "qa_options.hpp"
#include "qa_parity.hpp"
#include "qa_report.hpp"
#include "qa_sources.hpp"
#include "qa_tracing.hpp"

namespace apr::qa {
namespace {

std::string machine_text(const QaOptions& o, const GpuState& gpu) {
    std::string cpu = "unknown CPU";
    std::ifstream info("/proc/cpuinfo");
    std::string line;
    while (std::getline(info, line))
        if (line.rfind("model name", 0) == 0) {
            cpu = line.substr(line.find(':') + 2);
            break;
        }
    const unsigned hw = std::thread::hardware_concurrency();
    return fmt::format("{} ({} hardware threads, {} used); GPU: {}", cpu, hw,
                       o.threads > 0 ? std::to_string(o.threads) : "all",
                       gpu.status == DeviceStatus::ready ? "CUDA device ready" : gpu.why);
}

void banner(const std::string& text) {
    std::fprintf(stderr,
                 "\n**********************************************************************\n"
                 "*** %s\n"
                 "**********************************************************************\n\n",
                 text.c_str());
}

// The work folder: the one given, or a fresh temporary one removed at the end.
struct WorkDir {
    std::filesystem::path path;
    bool remove = false;
    ~WorkDir() {
        std::error_code ec;
        if (remove) std::filesystem::remove_all(path, ec);
    }
};

}  // namespace

int run_qa(const std::vector<std::string>& args, const std::string& program, const std::filesystem::path& self) {
    const QaOptions o = parse_qa_options(args, program, self);
    WorkDir work;
    if (!o.work_dir.empty()) {
        work.path = o.work_dir;
    } else {
        work.path = std::filesystem::temp_directory_path() / fmt::format("apr-qa-{}", getpid());
        work.remove = !o.keep_work;
    }
    std::filesystem::create_directories(work.path);

    const GpuState gpu = probe_gpu();
    Results r;
    r.model = o.model;
    r.hf_model = o.hf_model.value_or("");
    r.machine = machine_text(o, gpu);
    std::fprintf(stderr, "qa: class A source %s; class B source %s; work folder %s\n", o.model.c_str(),
                 o.hf_model ? o.hf_model->c_str() : "(none)", work.path.c_str());
    if (!o.hf_model && o.matrix && o.full_precision)
        banner("class B SKIPPED: no full-precision source (give --hf-model DIR, a Hugging Face SafeTensors folder)");
    if (gpu.status != DeviceStatus::ready && o.backends.count("cuda"))
        banner("GPU cells SKIPPED" + std::string(gpu.status == DeviceStatus::broken ? " (FAILED: CUDA is broken)" : "") +
               ": " + gpu.why);

    const Sources sources = prepare_sources(o, work.path, r);
    if (o.matrix) {
        std::vector<Cell> cells = run_matrix(o, sources, gpu);
        r.cells.insert(r.cells.end(), cells.begin(), cells.end());
    }
    if (o.tracing) {
        std::vector<Cell> cells = run_tracing(o, sources, gpu, work.path);
        r.cells.insert(r.cells.end(), cells.begin(), cells.end());
    }
    if (o.with_ollama) run_parity(o, sources, work.path, r);

    std::fputs(format_table(r).c_str(), stdout);
    std::fflush(stdout);
    if (o.json_file) {
        const std::string json = format_json(r);
        if (*o.json_file == "-") {
            std::fputs(json.c_str(), stdout);
        } else {
            std::ofstream out(*o.json_file, std::ios::trunc);
            out << json;
            out.close();
            if (!out) throw Error(ErrorCode::io, *o.json_file + ": cannot write the JSON results");
        }
    }
    if (!work.remove) std::fprintf(stderr, "qa: the converted models and logs are in %s\n", work.path.c_str());
    return r.any_failed() ? 1 : 0;
}

}  // namespace apr::qa
