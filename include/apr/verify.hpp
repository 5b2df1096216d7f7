// Whole-file integrity checks of model files.
#pragma once

#include "apr/export.hpp"
#include "apr/model_file.hpp"

namespace apr {

// Checks the whole-file checksum of formats that carry one (APR's CRC-32
// footer; the header CRC is checked on every open). Returns false for formats
// without a checksum (GGUF, SafeTensors, Hugging Face folders); throws
// apr::Error(bad_format) naming the file when the checksum does not match.
APR_API bool verify_model_file(const ModelFile& file);

}  // namespace apr
