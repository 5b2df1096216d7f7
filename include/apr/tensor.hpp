// A read-only view of one tensor's data inside a model file's memory mapping.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "apr/dtype.hpp"

namespace apr {

// Shapes are listed outermost dimension first, as PyTorch and SafeTensors do:
// a linear layer's weight is {out_features, in_features}, and rows are
// contiguous. (GGUF lists dimensions innermost first; its reader reverses them
// so every format reports the same shape for the same tensor.)
struct TensorView {
    std::string name;         // libapr's canonical name, e.g. "blk.0.attn_q.weight"
    std::string source_name;  // the name in the file, e.g. "model.layers.0.self_attn.q_proj.weight"
    DType dtype = DType::F32;
    std::vector<int64_t> shape;
    const std::byte* data = nullptr;  // points into the file mapping; valid while the file is open
    size_t nbytes = 0;

    int64_t elements() const {
        int64_t n = 1;
        for (int64_t d : shape) n *= d;
        return n;
    }
    int64_t rows() const { return shape.empty() ? 1 : elements() / shape.back(); }
    int64_t cols() const { return shape.empty() ? 1 : shape.back(); }
};

}  // namespace apr
