// Writing a GGUF file from an APR description and a set of tensors: what
// `apr export --format gguf` and `apr quantize ... --output x.gguf` share.
#pragma once

#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "apr/convert.hpp"
#include "formats/apr_metadata.hpp"
#include "formats/gguf_writer.hpp"

namespace apr::convert {

// The GGUF keys llama.cpp reads, built from the config and tokenizer; then
// every key of source_metadata (a GGUF source's own keys) set over them, so
// a GGUF -> APR -> GGUF trip gives back the original values and types.
void set_gguf_metadata(formats::GgufWriter& writer, const formats::AprMetadata& md);

// Tensors in llama.cpp's order: token_embd first, then each block, then the rest.
bool gguf_tensor_order(const std::string& a, const std::string& b);

}  // namespace apr::convert
