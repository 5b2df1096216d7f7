// SafeTensors: an 8-byte little-endian header length, a JSON header
// {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}},
// then the raw data. libapr reads F32, F16 and BF16 tensors in place from
// the memory mapping; single files and sharded checkpoints
// (model.safetensors.index.json + shards) are both supported.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "apr/model_file.hpp"

namespace apr::formats {

class LoadedModelFile;

inline constexpr uint64_t kSafetensorsMaxHeaderBytes = 100'000'000;  // the format's own limit

struct SafetensorsTensorInfo {
    std::string name;  // as in the file
    DType dtype = DType::F32;
    std::vector<int64_t> shape;
    size_t begin = 0;  // relative to the data section
    size_t nbytes = 0;
};

struct SafetensorsContents {
    size_t data_offset = 0;  // 8 + header length
    std::vector<SafetensorsTensorInfo> tensors;  // in header order
};

// Parses and validates the header of a whole SafeTensors image: every
// tensor's dtype, shape and byte range (inside the data, matching dtype x
// shape, not overlapping another tensor). `file` names the source in errors.
SafetensorsContents parse_safetensors(const std::byte* data, size_t size, std::string_view file);

// Maps `path` and appends views of its tensors to `model`, named
// canonically. With `only` set, tensors whose name is not a key of `only`
// mapped to `shard_name` are skipped (a shard index decides which shard owns
// each tensor); returns the source names appended.
std::vector<std::string> append_safetensors(LoadedModelFile& model, const std::filesystem::path& path,
                                            const std::map<std::string, std::string>* only = nullptr,
                                            const std::string& shard_name = {});

// Appends the tensors of every shard named in a model.safetensors.index.json.
// Throws bad_format when a shard name leaves the folder or a listed tensor is
// missing from its shard.
void append_safetensors_index(LoadedModelFile& model, const std::filesystem::path& index_path);

// A lone SafeTensors file, or a shard index. When a config.json sits beside
// it the config comes from there (as for a Hugging Face directory);
// otherwise what the tensor shapes tell (sizes, layers, vocabulary) is filled in.
std::unique_ptr<ModelFile> open_safetensors_file(const std::filesystem::path& path);
std::unique_ptr<ModelFile> open_safetensors_index(const std::filesystem::path& path);

}  // namespace apr::formats
