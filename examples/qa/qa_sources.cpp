#include "qa_sources.hpp"

#include <fmt/format.h>

#include <chrono>

#include "apr/convert.hpp"
#include "apr/error.hpp"

namespace apr::qa {
namespace {

bool convert(const std::string& source, const std::filesystem::path& output, const ImportParams& params,
             const std::string& what, Results& results) {
    Conversion c;
    c.source = source;
    c.output = output.string();
    c.what = what;
    const auto start = std::chrono::steady_clock::now();
    try {
        ImportParams p = params;
        p.overwrite = true;
        const ConversionReport report = import_model(source, output, p);
        c.ok = true;
        c.what += fmt::format(" ({} tensors, {:.1f} MB)", report.tensors, report.file_bytes / 1e6);
    } catch (const std::exception& e) {
        c.error = e.what();
    }
    c.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    results.conversions.push_back(c);
    return c.ok;
}

}  // namespace

Sources prepare_sources(const QaOptions& o, const std::filesystem::path& work, Results& results) {
    Sources s;
    s.gguf = o.model;
    // The tracing cells run on the GGUF unless --format picks another source.
    const bool tracing_on_apr = o.tracing && o.formats.count("gguf") == 0;
    if (((o.matrix && o.quantized) || tracing_on_apr) && o.formats.count("apr") > 0) {
        const auto out = work / (std::filesystem::path(o.model).stem().string() + ".apr");
        if (convert(o.model, out, ImportParams{}, "GGUF -> APR, quantization kept", results)) s.gguf_apr = out.string();
    }
    s.hf = o.hf_model;
    if (!s.hf) {
        s.hf_missing = "no full-precision source: --hf-model not given and the shared fixtures' nano folder "
                       "(../shared/fixtures/nano, or $APR_FIXTURES_DIR/nano) is not there";
    }
    const bool need_b = o.matrix && o.full_precision;
    if (s.hf && need_b && o.formats.count("apr") > 0) {
        const auto out = work / (std::filesystem::path(*s.hf).filename().string() + "-f32.apr");
        ImportParams p;
        p.dtype = DType::F32;
        if (convert(*s.hf, out, p, "SafeTensors -> APR F32", results)) s.hf_apr = out.string();
    }
    return s;
}

}  // namespace apr::qa
