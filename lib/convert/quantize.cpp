// apr::quantize_model: F32/F16/BF16 weights of any source -> a recipe's
// types (quant_recipe.hpp), written as APR or GGUF, with the weight RMSE of
// each output type measured against the source values.
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>

#include "apr/convert.hpp"
#include "apr/model_file.hpp"
#include "convert/conversion_report.hpp"
#include "convert/gguf_output.hpp"
#include "convert/quant_recipe.hpp"
#include "convert/source_description.hpp"
#include "convert/tensor_bytes.hpp"
#include "core/fail.hpp"
#include "formats/apr_writer.hpp"
#include "formats/gguf_writer.hpp"
#include "quant/dequantize.hpp"
#include "quant/quantize.hpp"

namespace apr {
namespace {

struct ErrorSum {
    double squares = 0;
    int64_t elements = 0;
    size_t tensors = 0;
};

// Quantizes `t` into `out` as `type`, rows in parallel, and returns the sum
// of squared differences between the dequantized result and the source.
double quantize_tensor(const TensorView& t, DType type, std::span<std::byte> out) {
    const int64_t rows = t.rows(), cols = t.cols();
    const size_t in_row = dtype_bytes(t.dtype, cols), out_row = dtype_bytes(type, cols);
    std::vector<double> row_error(static_cast<size_t>(rows));
    tbb::parallel_for(tbb::blocked_range<int64_t>(0, rows, 16), [&](const tbb::blocked_range<int64_t>& r) {
        std::vector<float> src(static_cast<size_t>(cols)), back(static_cast<size_t>(cols));
        for (int64_t i = r.begin(); i < r.end(); ++i) {
            quant::dequantize_row(t.dtype, t.data + i * in_row, src.data(), cols);
            std::byte* dst = out.data() + i * out_row;
            if (type == DType::F32) std::memcpy(dst, src.data(), out_row);
            else quant::quantize_row(type, src.data(), dst, cols);
            quant::dequantize_row(type, dst, back.data(), cols);
            double e = 0;
            for (int64_t k = 0; k < cols; ++k) {
                const double d = static_cast<double>(back[k]) - static_cast<double>(src[k]);
                e += d * d;
            }
            row_error[static_cast<size_t>(i)] = e;
        }
    });
    double sum = 0;
    for (double e : row_error) sum += e;  // in row order: the same total for any thread count
    return sum;
}

}  // namespace

std::vector<std::string_view> quantize_type_names() { return convert::recipe_names(); }

QuantizeReport quantize_model(const std::filesystem::path& source, const std::filesystem::path& output,
                              const QuantizeParams& params) {
    const auto recipe = convert::recipe_from_name(params.type);
    if (!recipe) {
        std::string names;
        for (auto n : convert::recipe_names()) names += (names.empty() ? "" : ", ") + std::string(n);
        fail(ErrorCode::invalid_argument, "quantize: unknown type '{}' (one of {})", params.type, names);
    }
    const auto file = open_model_file(source);
    const convert::RecipeContext context = convert::recipe_context(file->tensors());
    struct Plan {
        const TensorView* view;
        DType type;
    };
    std::vector<Plan> plan;
    for (const TensorView& t : file->tensors()) {
        const DType type = convert::recipe_type(*recipe, t, context);
        if (!convert::is_float_type(t.dtype) && type != t.dtype)
            fail(ErrorCode::unsupported, "{}: tensor '{}' is already quantized ({}); quantize from an F32, F16 or BF16 "
                 "source (a Hugging Face folder, SafeTensors, or an f16/f32 GGUF or APR)", source.string(), t.name,
                 dtype_name(t.dtype));
        plan.push_back({&t, type});
    }
    formats::AprMetadata md = convert::describe_source(*file, "quantize " + params.type);
    if (*recipe == convert::Recipe::f16) md.config.torch_dtype = "float16";
    else if (*recipe == convert::Recipe::bf16) md.config.torch_dtype = "bfloat16";
    else md.config.torch_dtype = "float32";
    // What llama.cpp shows as the file's type; a GGUF source's own value would be stale.
    md.source_metadata["general.file_type"] = formats::meta_u32(convert::recipe_file_type(*recipe));
    if (*recipe != convert::Recipe::f16 && *recipe != convert::Recipe::bf16 && *recipe != convert::Recipe::f32)
        md.source_metadata["general.quantization_version"] = formats::meta_u32(2);

    std::mutex mutex;
    std::map<uint32_t, ErrorSum> errors;
    auto record = [&](DType type, int64_t elements, double squares) {
        std::lock_guard lock(mutex);
        ErrorSum& e = errors[static_cast<uint32_t>(type)];
        e.squares += squares;
        e.elements += elements;
        ++e.tensors;
    };
    convert::TypeCounter counts;
    for (const Plan& p : plan) counts.add(p.type);
    auto progress = [&](size_t done, size_t total, const std::string& name) {
        if (params.progress) params.progress(done, total, name);
    };

    size_t file_bytes = 0;
    if (output.extension() == ".gguf") {
        formats::GgufWriter w;
        convert::set_gguf_metadata(w, md);
        std::vector<const Plan*> order;
        for (const Plan& p : plan) order.push_back(&p);
        std::sort(order.begin(), order.end(), [](const Plan* a, const Plan* b) {
            return convert::gguf_tensor_order(a->view->name, b->view->name);
        });
        size_t total = 0, done = 0;
        for (const Plan* p : order) total += dtype_bytes(p->type, p->view->elements());
        for (const Plan* p : order) {
            std::vector<std::byte> bytes(dtype_bytes(p->type, p->view->elements()));
            record(p->type, p->view->elements(), quantize_tensor(*p->view, p->type, bytes));
            done += bytes.size();
            progress(done, total, p->view->name);
            w.add_tensor(p->view->name, p->type, p->view->shape, std::move(bytes));
        }
        file_bytes = w.write(output, params.overwrite).file_size;
    } else {
        formats::AprWriter w;
        w.set_metadata(formats::encode_apr_metadata(md));
        for (const Plan& p : plan)
            w.add_tensor(p.view->name, p.type, p.view->shape, [&, p](std::span<std::byte> out) {
                record(p.type, p.view->elements(), quantize_tensor(*p.view, p.type, out));
            });
        file_bytes = w.write(output, params.overwrite, progress).file_size;
    }

    QuantizeReport report;
    report.conversion = counts.report(output, file_bytes);
    for (const auto& [type, e] : errors)
        report.per_type.push_back({static_cast<DType>(type), e.tensors, e.elements,
                                   e.elements > 0 ? std::sqrt(e.squares / static_cast<double>(e.elements)) : 0.0});
    return report;
}

}  // namespace apr
