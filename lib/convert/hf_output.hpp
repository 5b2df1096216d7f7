// Writing a Hugging Face folder from an APR file: config.json,
// generation_config.json, tokenizer.json, tokenizer_config.json and
// model.safetensors. Text files the APR file carries from an HF source are
// written back verbatim; otherwise they are built from the config and the
// tokenizer fields (hf_tokenizer_json.hpp).
#pragma once

#include <filesystem>

#include "apr/convert.hpp"
#include "apr/model_file.hpp"
#include "formats/apr_metadata.hpp"

namespace apr::convert {

ConversionReport export_hf_folder(const ModelFile& file, const formats::AprMetadata& md,
                                  const std::filesystem::path& folder, const ExportParams& params);

// config.json text for a model without one (Qwen2ForCausalLM / LlamaForCausalLM).
std::string hf_config_json(const formats::AprMetadata& md, std::string_view torch_dtype);
// generation_config.json text: bos and eos ids.
std::string hf_generation_config_json(const formats::AprMetadata& md);
// tokenizer.json / tokenizer_config.json texts from the tokenizer fields
// (byte-level BPE). Throws apr::Error(unsupported) for other tokenizer models.
std::string hf_tokenizer_json(const formats::AprTokenizer& tokenizer);
std::string hf_tokenizer_config_json(const formats::AprMetadata& md);

}  // namespace apr::convert
