// The canonical sources and the pre-conversion step: the matrix compares ONE
// model across formats, so the APR files are made from the canonical
// sources before any cell runs, with the library's import (apr import):
// GGUF -> APR keeping every tensor's bytes (Q4_K stays Q4_K), and the
// SafeTensors folder -> APR F32.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "qa_options.hpp"
#include "qa_report.hpp"

namespace apr::qa {

struct Sources {
    std::string gguf;                  // class A's canonical file
    std::string gguf_apr;              // its APR conversion (empty when it failed)
    std::optional<std::string> hf;     // class B's folder (none: class B is skipped)
    std::string hf_apr;                // its APR F32 conversion
    std::string hf_missing;            // why there is no class B source
};

// Converts what the selected cells need into `work`; records each
// conversion (time, or its error) in `results`.
Sources prepare_sources(const QaOptions& o, const std::filesystem::path& work, Results& results);

}  // namespace apr::qa
