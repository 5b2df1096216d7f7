// What a conversion carries over from its source besides the tensors: the
// config, the tokenizer (from GGUF keys or tokenizer.json), the chat
// template, the source's other metadata and Hugging Face text files, and
// provenance. One description serves import, quantize and export.
#pragma once

#include <string>

#include "apr/model_file.hpp"
#include "formats/apr_metadata.hpp"

namespace apr::convert {

// Throws apr::Error (unsupported) for a tokenizer.json whose behaviour the
// APR tokenizer fields cannot express (non-default added-token stripping, an
// unusual normalizer), rather than silently changing tokenization.
formats::AprMetadata describe_source(const ModelFile& file, const std::string& conversion);

// The folder holding a source's Hugging Face side files (the folder itself,
// or a SafeTensors file's folder).
std::filesystem::path hf_folder(const ModelFile& file);

}  // namespace apr::convert
