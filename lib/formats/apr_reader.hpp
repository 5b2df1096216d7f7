// Reads APR v2 files (formats/apr_layout.hpp, docs/apr-format.md): header
// (magic, version, flags, header CRC, section offsets), the JSON metadata,
// the sorted tensor index and the 64-byte-aligned data, all validated before
// any view is built. Tensor data is used in place from the mapping, like GGUF.
// The footer CRC covers the whole file, so it is checked on demand
// (verify_apr_footer, `apr inspect --verify`) rather than on every open.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "apr/model_file.hpp"
#include "formats/apr_layout.hpp"

namespace apr::formats {

struct AprTensorEntry {
    std::string name;
    DType dtype = DType::F32;
    std::vector<int64_t> shape;  // outermost first
    uint64_t offset = 0;         // absolute offset in the file
    size_t nbytes = 0;
};

struct AprContents {
    AprHeader header;
    std::string_view metadata_json;  // points into the image
    std::vector<AprTensorEntry> tensors;  // in index (name) order
};

// Validates a whole APR image: header and its CRC, section bounds, metadata
// size, the index (sorted, known dtypes, sizes matching dtype x shape, in
// range, aligned, not overlapping). `file` names the source in errors. The
// metadata text is returned unparsed.
AprContents parse_apr(const std::byte* data, size_t size, std::string_view file);

// Throws apr::Error(bad_format) naming the file when the footer CRC does not
// match the bytes before it.
void verify_apr_footer(const std::byte* data, size_t size, std::string_view file);

// Maps, parses and fills config, tensors, metadata and tokenizer summary
// (formats/apr_metadata.hpp says how the JSON maps onto them).
std::unique_ptr<ModelFile> open_apr(const std::filesystem::path& path);

}  // namespace apr::formats
