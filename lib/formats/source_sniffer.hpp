// Chooses a reader for a path by looking at it: a directory with config.json
// is a Hugging Face model, "*.gguf", "*.apr" and "*.safetensors" go by their
// extension; otherwise a file starting with "GGUF" is GGUF, one starting with
// "APR\0" is APR, a file
// starting with a plausible 8-byte header length and '{' is SafeTensors, and
// "*.safetensors.index.json" is a shard index.
#pragma once

#include <filesystem>

namespace apr::formats {

enum class SourceKind { gguf, safetensors, safetensors_index, hf_directory, apr };

// Throws apr::Error(not_found) for a missing path or a directory without
// config.json, and apr::Error(unsupported) for a file of unknown format.
SourceKind sniff_source(const std::filesystem::path& path);

}  // namespace apr::formats
