// Produces a planned random model's tensor data and writes it as GGUF through
// the library's GgufWriter (atomically: a temporary file renamed into place).
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "apr/model_file.hpp"
#include "random_model_plan.hpp"
#include "random_weights.hpp"

namespace apr::tools {

// Writes `metadata` (general.architecture first, then the rest in key order)
// and every tensor of `plan`, in plan order, with data from make_tensor_data.
// Returns the file's size in bytes. Throws apr::Error (io naming the path,
// invalid_argument for a bad plan); on failure no file appears at `path`.
uint64_t write_random_model(const std::filesystem::path& path, const Metadata& metadata,
                            const std::vector<PlannedTensor>& plan, uint64_t seed,
                            KQuantizer k_quantizer = KQuantizer::fast);

}  // namespace apr::tools
