// apr::import_model: any source -> APR. GGUF and APR tensors keep their
// exact bytes unless a float dtype is asked for; SafeTensors/HF default to F32.
#include <map>

#include "apr/convert.hpp"
#include "apr/model_file.hpp"
#include "convert/conversion_report.hpp"
#include "convert/source_description.hpp"
#include "convert/tensor_bytes.hpp"
#include "core/fail.hpp"
#include "formats/apr_writer.hpp"

namespace apr {

ConversionReport import_model(const std::filesystem::path& source, const std::filesystem::path& output,
                              const ImportParams& params) {
    if (params.dtype && !convert::is_float_type(*params.dtype))
        fail(ErrorCode::invalid_argument, "import: --dtype must be keep, f32, f16 or bf16 (got {})",
             dtype_name(*params.dtype));
    const auto file = open_model_file(source);
    const bool keeps = file->format() == FileFormat::gguf || file->format() == FileFormat::apr;
    const std::optional<DType> target = params.dtype ? params.dtype : keeps ? std::nullopt : std::optional(DType::F32);
    const std::string conversion =
        target ? fmt::format("import --dtype {}", convert::lower_type_name(*target)) : std::string("import");
    formats::AprMetadata md = convert::describe_source(*file, conversion);
    if (target) md.config.torch_dtype = target == DType::F32 ? "float32" : target == DType::F16 ? "float16" : "bfloat16";

    formats::AprWriter writer;
    writer.set_metadata(formats::encode_apr_metadata(md));
    convert::TypeCounter counts;
    for (const TensorView& t : file->tensors()) {
        const DType to = target && convert::is_float_type(t.dtype) ? *target : t.dtype;
        counts.add(to);
        if (to == t.dtype)
            writer.add_tensor(t.name, to, t.shape, std::span<const std::byte>(t.data, t.nbytes));
        else
            writer.add_tensor(t.name, to, t.shape,
                              [&t, to](std::span<std::byte> out) { convert::convert_tensor(t, to, out); });
    }
    const formats::AprLayout layout = writer.write(
        output, params.overwrite, [&](size_t done, size_t total, const std::string& name) {
            if (params.progress) params.progress(done, total, name);
        });
    return counts.report(output, layout.file_size);
}

}  // namespace apr
