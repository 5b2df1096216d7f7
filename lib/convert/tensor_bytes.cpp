#include "convert/tensor_bytes.hpp"

#include <cstring>
#include <vector>

#include "core/fail.hpp"
#include "quant/dequantize.hpp"
#include "quant/quantize.hpp"

namespace apr::convert {

bool is_float_type(DType type) noexcept { return type == DType::F32 || type == DType::F16 || type == DType::BF16; }

void convert_tensor(const TensorView& tensor, DType to, std::span<std::byte> out) {
    if (out.size() != dtype_bytes(to, tensor.elements()))
        fail(ErrorCode::internal, "tensor '{}': conversion buffer has the wrong size", tensor.name);
    if (tensor.dtype == to) {
        std::memcpy(out.data(), tensor.data, out.size());
        return;
    }
    if (!is_float_type(to))
        fail(ErrorCode::unsupported, "tensor '{}': conversion to {} is quantization (use apr quantize)", tensor.name,
             dtype_name(to));
    const int64_t cols = tensor.cols(), rows = tensor.rows();
    const size_t in_row = dtype_bytes(tensor.dtype, cols), out_row = dtype_bytes(to, cols);
    std::vector<float> row(static_cast<size_t>(cols));
    for (int64_t r = 0; r < rows; ++r) {
        quant::dequantize_row(tensor.dtype, tensor.data + r * in_row, row.data(), cols);
        if (to == DType::F32) std::memcpy(out.data() + r * out_row, row.data(), out_row);
        else quant::quantize_row(to, row.data(), out.data() + r * out_row, cols);
    }
}

}  // namespace apr::convert
