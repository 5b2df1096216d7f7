// A copy of a GGUF model with one layer's weights zeroed: it loads and runs,
// with wrong answers, which is what tests of diagnostics need to see caught
// (--trace-diff naming the layer, the QA matrix failing its cells).
#pragma once

#include <catch2/catch.hpp>

#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "apr/model_file.hpp"
#include "formats/gguf_writer.hpp"

namespace apr::test {

// Writes `source` to `target` with every matrix of block `layer` (q, k, v,
// o, gate, up, down) set to zero; metadata and all other tensors unchanged.
inline void write_zeroed_layer_copy(const std::filesystem::path& source, const std::filesystem::path& target, int layer) {
    auto file = apr::open_model_file(source);
    apr::formats::GgufWriter w;
    for (const auto& [key, value] : file->metadata()) w.set(key, value);
    const std::string prefix = "blk." + std::to_string(layer) + ".";
    int zeroed = 0;
    for (const apr::TensorView& t : file->tensors()) {
        if (t.name.rfind(prefix, 0) == 0 && t.shape.size() == 2) {
            w.add_tensor(t.source_name, t.dtype, t.shape, std::vector<std::byte>(t.nbytes));
            ++zeroed;
        } else {
            w.add_tensor(t.source_name, t.dtype, t.shape, std::span<const std::byte>(t.data, t.nbytes));
        }
    }
    REQUIRE(zeroed == 7);
    w.write(target);
}

}  // namespace apr::test
