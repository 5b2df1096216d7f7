// Writes GGUF (version 3 by default): metadata of every value type and
// tensors of any DType given as raw bytes, each tensor's data aligned.
// The file is written atomically: to a temporary file in the same folder,
// flushed, then renamed over the target, so a failure never leaves a partial
// file and never clobbers an existing one.
//
//   formats::GgufWriter w;
//   w.set("general.architecture", formats::meta_string_value("qwen2"));
//   w.set("qwen2.block_count", formats::meta_u32(4));
//   w.add_tensor("token_embd.weight", DType::F16, {2048, 512}, bytes);  // shape outermost first
//   w.write("out.gguf");
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "apr/model_file.hpp"

namespace apr::formats {

// Metadata value builders (the value type is the GGUF type named).
MetaValue meta_u8(uint8_t v);
MetaValue meta_i8(int8_t v);
MetaValue meta_u16(uint16_t v);
MetaValue meta_i16(int16_t v);
MetaValue meta_u32(uint32_t v);
MetaValue meta_i32(int32_t v);
MetaValue meta_u64(uint64_t v);
MetaValue meta_i64(int64_t v);
MetaValue meta_f32(float v);
MetaValue meta_f64(double v);
MetaValue meta_bool_value(bool v);
MetaValue meta_string_value(std::string v);
// An array whose items all have GGUF type `element_type` (checked by the writer).
MetaValue meta_array_value(MetaType element_type, MetaArray items);
MetaValue meta_string_array(const std::vector<std::string>& items);
MetaValue meta_i32_array(const std::vector<int32_t>& items);
MetaValue meta_f32_array(const std::vector<float>& items);

// Where the pieces of the last written file lie (for tests that corrupt a
// good file at a known place).
struct GgufLayout {
    size_t tensor_count_offset = 0;              // the uint64 tensor count
    size_t kv_count_offset = 0;                  // the uint64 metadata count
    std::vector<size_t> kv_offsets;              // each key's length field, in write order
    std::vector<size_t> tensor_info_offsets;     // each tensor info's name length field
    size_t data_offset = 0;                      // start of the (aligned) data section
    std::vector<size_t> tensor_data_offsets;     // absolute offset of each tensor's data
    size_t file_size = 0;
};

class GgufWriter {
public:
    explicit GgufWriter(uint32_t version = 3);
    GgufWriter(const GgufWriter&) = delete;  // tensors may point into owned buffers
    GgufWriter& operator=(const GgufWriter&) = delete;
    GgufWriter(GgufWriter&&) = default;
    GgufWriter& operator=(GgufWriter&&) = default;

    // Adds or replaces a metadata key. Keys are written in the order first set.
    // Setting "general.alignment" (an integer power of two) changes the alignment.
    void set(const std::string& key, MetaValue value);

    // Adds a tensor: `shape` outermost first (as TensorView reports it; the
    // file stores it reversed). `data` must hold exactly dtype_bytes(type,
    // elements) bytes and stay alive until write() returns. Throws
    // apr::Error(invalid_argument) for a bad name, shape or size.
    void add_tensor(const std::string& name, DType type, std::vector<int64_t> shape, std::span<const std::byte> data);
    // Same, taking ownership of the bytes.
    void add_tensor(const std::string& name, DType type, std::vector<int64_t> shape, std::vector<std::byte>&& data);

    // Writes the file atomically; throws apr::Error(io) naming the path when
    // the folder cannot be written. An existing file is replaced only with
    // `overwrite` (else apr::Error(invalid_argument)). Returns where
    // everything went. `progress` (optional) hears after each tensor.
    GgufLayout write(const std::filesystem::path& path, bool overwrite = true,
                     const std::function<void(size_t done, size_t total, const std::string& tensor)>& progress = {}) const;

    uint32_t alignment() const { return alignment_; }

private:
    struct Tensor {
        std::string name;
        DType type;
        std::vector<int64_t> shape;
        std::span<const std::byte> data;
        std::vector<std::byte> owned;
    };
    uint32_t version_;
    uint32_t alignment_;
    std::vector<std::pair<std::string, MetaValue>> metadata_;
    std::vector<Tensor> tensors_;
};

}  // namespace apr::formats
