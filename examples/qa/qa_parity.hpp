// --with-ollama: the showcase's parity with the engine Ollama runs. Looks
// for llama.cpp's programs ($APR_LLAMA_SIMPLE / $APR_LLAMA_BENCH, else
// llama-simple / llama-bench on PATH) and for Ollama (a server answering at
// $OLLAMA_HOST or 127.0.0.1:11434, with $APR_OLLAMA_MODEL naming the model
// it serves for the canonical GGUF), runs the same
// prompts on class A's GGUF there and here, and reports:
//   correctness  the same greedy text for every case
//   performance  prompt and generation tok/s, libapr / reference, each >= 0.5 (within 2x);
//                measured side by side, interleaved, medians of --parity-reps
//   memory       peak RSS of `apr run` / of llama-simple on the same prompt, <= 1.5
// Nothing found: each line SKIP, naming what was looked for.
#pragma once

#include <filesystem>

#include "qa_options.hpp"
#include "qa_report.hpp"
#include "qa_sources.hpp"

namespace apr::qa {

void run_parity(const QaOptions& o, const Sources& sources, const std::filesystem::path& work, Results& results);

}  // namespace apr::qa
