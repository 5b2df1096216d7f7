// Model conversions: import any source (GGUF, SafeTensors, a Hugging Face
// folder, APR) into an APR file, export an APR file to GGUF or to a Hugging
// Face folder, and quantize F32/F16/BF16 weights with llama.cpp's recipes
// (Q4_K_M, Q8_0, ...). Every output is written atomically (temporary file,
// fsync, rename), so a failed or interrupted conversion never leaves a
// partial file under the target name; an existing target is replaced only
// with `overwrite`. docs/apr-format.md describes the APR format.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "apr/dtype.hpp"
#include "apr/export.hpp"

namespace apr {

// Called as tensors are written: bytes done of the total, and the tensor.
using ConvertProgress = std::function<void(size_t done_bytes, size_t total_bytes, std::string_view tensor)>;

struct ConversionReport {
    std::filesystem::path output;
    size_t tensors = 0;
    size_t file_bytes = 0;
    std::vector<std::pair<DType, size_t>> tensors_per_type;  // in DType order
};

struct ImportParams {
    // Type of the floating-point tensors in the output. nullopt: keep the
    // source's types for GGUF and APR (every tensor keeps its exact bytes),
    // F32 for SafeTensors and Hugging Face folders. F32, F16 or BF16 convert
    // F32/F16/BF16 tensors; quantized tensors always keep their bytes.
    std::optional<DType> dtype;
    bool overwrite = false;
    ConvertProgress progress;
};

// Throws apr::Error: invalid_argument (existing output without overwrite, a
// dtype other than F32/F16/BF16), the source's reader errors, io.
APR_API ConversionReport import_model(const std::filesystem::path& source, const std::filesystem::path& output,
                                      const ImportParams& params = {});

enum class ExportFormat { gguf, safetensors };

struct ExportParams {
    ExportFormat format = ExportFormat::gguf;
    bool overwrite = false;
    ConvertProgress progress;
};

// GGUF: one file that llama.cpp loads (the source's GGUF keys, else keys
// built from the config and tokenizer; tensor data byte for byte).
// SafeTensors: a Hugging Face folder at `output` (config.json,
// generation_config.json, tokenizer files, model.safetensors); quantized
// tensors are dequantized to F32. Existing files in the folder are replaced
// only with `overwrite`.
APR_API ConversionReport export_model(const std::filesystem::path& apr_file, const std::filesystem::path& output,
                                      const ExportParams& params = {});

struct QuantizeParams {
    std::string type = "q4_k_m";  // q4_k_m, q4_k_s, q5_k_m, q6_k, q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, f16, bf16, f32
    bool overwrite = false;
    ConvertProgress progress;
};

// Weight error of one output type: root mean square of (dequantized - source).
struct QuantizeError {
    DType type = DType::F32;
    size_t tensors = 0;
    int64_t elements = 0;
    double rmse = 0;
};

struct QuantizeReport {
    ConversionReport conversion;
    std::vector<QuantizeError> per_type;  // one per output type, in DType order
};

// The type names quantize_model accepts, in the order `apr quantize --help` lists them.
APR_API std::vector<std::string_view> quantize_type_names();

// Quantizes every 2-D weight of an F32/F16/BF16 source (any format) by the
// named recipe; 1-D tensors (norms, biases) stay F32. The output is GGUF when
// its name ends in .gguf, APR otherwise. Throws apr::Error:
// invalid_argument for an unknown type or an existing output, unsupported
// for an already-quantized source tensor.
APR_API QuantizeReport quantize_model(const std::filesystem::path& source, const std::filesystem::path& output,
                                      const QuantizeParams& params = {});

}  // namespace apr
