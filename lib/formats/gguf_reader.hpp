// GGUF (versions 2 and 3) parsing: header, metadata of every value type
// (nested arrays included), the tensor table and the aligned data section.
// Layout facts: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "apr/model_file.hpp"

namespace apr::formats {

inline constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" read as a little-endian uint32
inline constexpr uint32_t kGgufDefaultAlignment = 32;
inline constexpr uint32_t kGgufMaxDims = 4;
inline constexpr int kGgufMaxArrayDepth = 8;  // arrays of arrays of ... (deeper is refused)

struct GgufTensorInfo {
    std::string name;
    std::vector<int64_t> shape;  // outermost first (GGUF's order reversed)
    DType dtype = DType::F32;
    uint64_t offset = 0;         // relative to the data section
    size_t nbytes = 0;
};

struct GgufContents {
    uint32_t version = 0;
    uint32_t alignment = kGgufDefaultAlignment;
    Metadata metadata;
    std::vector<GgufTensorInfo> tensors;  // in file order
    size_t data_offset = 0;               // absolute offset of the data section
};

// Parses and validates a whole GGUF image. Every tensor's range is checked
// against the image size, the alignment and the other tensors, so views built
// from the result are always in bounds. `file` names the source in errors.
GgufContents parse_gguf(const std::byte* data, size_t size, std::string_view file);

// Opens a GGUF file: maps it, parses it and fills config, tensors (zero-copy
// views), metadata and tokenizer summary.
std::unique_ptr<ModelFile> open_gguf(const std::filesystem::path& path);

}  // namespace apr::formats
