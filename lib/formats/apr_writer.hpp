// Writes APR v2 files (layout in formats/apr_layout.hpp, docs/apr-format.md).
// The metadata is given as JSON text; tensors as bytes or as a producer that
// fills a tensor's bytes when the writer reaches it, so a conversion streams
// one tensor at a time instead of holding the whole model. The file is
// written through AtomicFile: temporary file, fsync, rename; an existing
// target is replaced only with `overwrite`.
//
//   formats::AprWriter w;
//   w.set_metadata(json_text);
//   w.add_tensor("token_embd.weight", DType::Q4_K, {2048, 512}, bytes);
//   w.write("model.apr", /*overwrite=*/false);
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "apr/dtype.hpp"

namespace apr::formats {

// Where the pieces of the written file lie (tests corrupt files there).
struct AprLayout {
    size_t metadata_offset = 0;
    size_t metadata_size = 0;
    size_t tensor_index_offset = 0;
    std::vector<size_t> index_entry_offsets;  // each entry's name-length field, in index (name) order
    size_t data_offset = 0;
    std::vector<size_t> tensor_data_offsets;  // absolute, in index order
    size_t footer_offset = 0;
    size_t file_size = 0;
};

// Called after each tensor is written: bytes of tensor data done, of total.
using AprWriteProgress = std::function<void(size_t done_bytes, size_t total_bytes, const std::string& tensor)>;

class AprWriter {
public:
    // Fills exactly the span's bytes with the tensor's data.
    using Producer = std::function<void(std::span<std::byte> out)>;

    // Throws apr::Error(invalid_argument) when the text exceeds the format's
    // metadata limit. The text must be one JSON object (the caller builds it).
    void set_metadata(std::string json);

    // Throws apr::Error(invalid_argument) for a duplicate or non-UTF-8 name,
    // a name longer than 65535 bytes, a bad shape, or a size that does not
    // match dtype x shape.
    void add_tensor(const std::string& name, DType type, std::vector<int64_t> shape, std::span<const std::byte> data);
    void add_tensor(const std::string& name, DType type, std::vector<int64_t> shape, Producer producer);

    AprLayout write(const std::filesystem::path& path, bool overwrite, const AprWriteProgress& progress = {}) const;

    size_t tensor_count() const { return tensors_.size(); }

private:
    struct Tensor {
        std::string name;
        DType type;
        std::vector<int64_t> shape;
        size_t nbytes;
        Producer producer;
    };
    size_t check_tensor(const std::string& name, DType type, const std::vector<int64_t>& shape) const;
    std::string metadata_ = "{}";
    std::vector<Tensor> tensors_;
};

}  // namespace apr::formats
