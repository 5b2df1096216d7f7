// A model file opened for reading: GGUF, a SafeTensors file, a Hugging Face
// directory (config.json + *.safetensors + tokenizer files) or APR.
// Tensor data stays in the memory mapping; views point into it and stay
// valid as long as the ModelFile lives.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "apr/export.hpp"
#include "apr/model_config.hpp"
#include "apr/tensor.hpp"

namespace apr {

enum class FileFormat { gguf, safetensors, hf_directory, apr };
APR_API std::string_view file_format_name(FileFormat format) noexcept;  // "gguf", ...

// One GGUF metadata value. Arrays may nest (an array of arrays of strings).
struct MetaValue;
using MetaArray = std::vector<MetaValue>;
struct MetaValue {
    // GGUF value type id of this value (0 = uint8 ... 12 = float64); arrays keep
    // the id of their element type in `element_type`.
    uint32_t type = 0;
    uint32_t element_type = 0;
    std::variant<uint64_t, int64_t, double, bool, std::string, MetaArray> value;
};
using Metadata = std::map<std::string, MetaValue, std::less<>>;

// GGUF's value type ids, as stored in MetaValue::type / element_type.
enum class MetaType : uint32_t {
    uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6,
    boolean = 7, string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12,
};

// Typed reads of a metadata value; nullopt/nullptr when the value holds
// another kind. meta_int accepts any integer type (and bool), failing for
// uint64 values above INT64_MAX; meta_float accepts floats and integers.
APR_API std::optional<int64_t> meta_int(const MetaValue& value) noexcept;
APR_API std::optional<double> meta_float(const MetaValue& value) noexcept;
APR_API std::optional<bool> meta_bool(const MetaValue& value) noexcept;
APR_API const std::string* meta_string(const MetaValue& value) noexcept;
APR_API const MetaArray* meta_array(const MetaValue& value) noexcept;

// What inspect shows about the tokenizer without building it.
struct TokenizerSummary {
    std::string model;          // "gpt2" (byte-level BPE), "llama", ...
    std::string pre_tokenizer;  // "qwen2", "llama-bpe", "gpt2", ...
    int64_t vocab_size = 0;     // entries in the tokenizer (added tokens included)
    std::vector<std::pair<std::string, int32_t>> special_tokens;  // role ("bos", "eos", "pad", ...) -> id
    bool has_chat_template = false;
};

class APR_API ModelFile {
public:
    virtual ~ModelFile();

    FileFormat format() const { return format_; }
    const std::filesystem::path& path() const { return path_; }
    const ModelConfig& config() const { return config_; }
    const std::vector<TensorView>& tensors() const { return tensors_; }
    // Key/value metadata (GGUF); empty for formats without it.
    const Metadata& metadata() const { return metadata_; }
    const TokenizerSummary& tokenizer_summary() const { return tokenizer_summary_; }
    // Metadata lookup by key ("tokenizer.ggml.tokens"); nullptr when absent.
    const MetaValue* find_metadata(std::string_view key) const;

    // Lookup by canonical name ("blk.3.ffn_up.weight"); nullptr when absent.
    const TensorView* find_tensor(std::string_view name) const;
    // Same, but throws apr::Error(not_found) naming the file and tensor.
    const TensorView& tensor(std::string_view name) const;

protected:
    ModelFile(FileFormat format, std::filesystem::path path);
    FileFormat format_;
    std::filesystem::path path_;
    ModelConfig config_;
    std::vector<TensorView> tensors_;
    Metadata metadata_;
    TokenizerSummary tokenizer_summary_;
    // Canonical name -> index into tensors_; filled by index_tensors(), which
    // every reader calls once its tensor list is complete.
    std::map<std::string, size_t, std::less<>> tensor_index_;
    void index_tensors();
};

// Opens any supported source, choosing the reader by content (GGUF magic,
// SafeTensors header, directory with config.json). Throws apr::Error naming
// the path and the offending field for anything malformed.
APR_API std::unique_ptr<ModelFile> open_model_file(const std::filesystem::path& path);

// What `apr inspect --json` prints (and apr_model_file_inspect_json returns):
// one JSON object with format, path, architecture, config {hidden_size,
// num_layers, num_heads, num_kv_heads, head_dim, intermediate_size,
// vocab_size, rope_theta, rms_norm_eps, tied_embeddings, context_length, ...},
// tokenizer {model, pre_tokenizer, vocab_size, special_tokens, chat_template},
// tensors [{name, type, shape, bytes}] and tensor_count. Compact, no newline.
APR_API std::string inspect_json(const ModelFile& file);

}  // namespace apr
