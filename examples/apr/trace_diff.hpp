// apr run MODEL_A MODEL_B --prompt TEXT --trace-diff [--json]: the same prompt
// through two models step by step (greedy), comparing the hidden state after
// the embedding, after every block and after the final norm (the last
// token's row), and the chosen tokens. Reports the first divergence
// (position, layer, both tensors' statistics) and its likely class. Exit
// status 0 when the two agree, 1 when they part (so CI can use it).
#pragma once

#include <optional>
#include <string>

#include "generation_flags.hpp"

namespace apr::cli {

struct TraceDiffOptions {
    std::string model_a, model_b;
    std::string prompt;
    bool raw = false;
    bool json = false;
    double tolerance = 0.02;  // relative L2 difference above which a layer counts as diverged
    int64_t steps = 8;        // generated tokens compared
    int64_t threads = 0;
    std::optional<std::string> system;
};

int run_trace_diff(const TraceDiffOptions& options);

}  // namespace apr::cli
