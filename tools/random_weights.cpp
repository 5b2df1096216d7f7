#include "random_weights.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "core/fail.hpp"
#include "fast_kquant.hpp"
#include "core/half.hpp"
#include "quant/quantize.hpp"

namespace apr::tools {

namespace {

uint64_t splitmix64(uint64_t& state) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t fnv1a(std::string_view text) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (char c : text) {
        h ^= static_cast<unsigned char>(c);
        h *= 0x100000001b3ull;
    }
    return h;
}

}  // namespace

void fill_random_row(uint64_t seed, std::string_view tensor_name, int64_t row, InitKind init, std::span<float> out) {
    // Mix the three inputs through splitmix64 once so that neighbouring rows
    // and seeds start from unrelated states.
    uint64_t state = seed ^ fnv1a(tensor_name);
    state = splitmix64(state) ^ static_cast<uint64_t>(row);
    splitmix64(state);

    // The sum of four uniform 16-bit integers has mean 4 * 32767.5 and
    // variance 4 * (65536^2 - 1) / 12; scale it to unit variance.
    constexpr double kMean = 4 * 32767.5;
    const double unit = 1.0 / std::sqrt(4.0 * (65536.0 * 65536.0 - 1.0) / 12.0);
    const float sigma = static_cast<float>(0.02 * unit);
    const float center = init == InitKind::norm ? 1.0f : 0.0f;
    for (float& value : out) {
        const uint64_t r = splitmix64(state);
        const uint32_t sum = static_cast<uint32_t>((r & 0xffff) + ((r >> 16) & 0xffff) + ((r >> 32) & 0xffff) +
                                                   (r >> 48));
        value = center + sigma * static_cast<float>(static_cast<double>(sum) - kMean);
    }
}

void make_tensor_data(const PlannedTensor& tensor, uint64_t seed, std::span<std::byte> out, KQuantizer k_quantizer) {
    const size_t expected = dtype_bytes(tensor.dtype, tensor.elements());
    if (out.size() != expected)
        fail(ErrorCode::internal, "random model: tensor '{}' needs {} bytes, got a buffer of {}", tensor.name,
             expected, out.size());
    const int64_t rows = tensor.rows(), cols = tensor.cols();
    // Rows are quantized one at a time, so each must be whole blocks
    // (dtype_bytes throws naming the type otherwise).
    const size_t row_bytes = dtype_bytes(tensor.dtype, cols);

    // A few dozen rows per task: large enough to amortize scheduling, small
    // enough that 2 threads stay balanced on the last tensor.
    tbb::parallel_for(tbb::blocked_range<int64_t>(0, rows, 32), [&](const tbb::blocked_range<int64_t>& range) {
        std::vector<float> values(static_cast<size_t>(cols));
        for (int64_t row = range.begin(); row < range.end(); ++row) {
            fill_random_row(seed, tensor.name, row, tensor.init, values);
            std::byte* dst = out.data() + static_cast<size_t>(row) * row_bytes;
            switch (tensor.dtype) {
                case DType::F32:
                    std::memcpy(dst, values.data(), row_bytes);
                    break;
                case DType::F16:
                    for (int64_t i = 0; i < cols; ++i) {
                        const uint16_t h = f32_to_f16(values[static_cast<size_t>(i)]);
                        std::memcpy(dst + 2 * i, &h, 2);
                    }
                    break;
                case DType::Q4_K:
                    if (k_quantizer == KQuantizer::fast) {
                        fast_quantize_q4_k(values.data(), dst, cols);
                        break;
                    }
                    quant::quantize_row(tensor.dtype, values.data(), dst, cols);
                    break;
                case DType::Q6_K:
                    if (k_quantizer == KQuantizer::fast) {
                        fast_quantize_q6_k(values.data(), dst, cols);
                        break;
                    }
                    quant::quantize_row(tensor.dtype, values.data(), dst, cols);
                    break;
                default:
                    quant::quantize_row(tensor.dtype, values.data(), dst, cols);
                    break;
            }
        }
    });
}

}  // namespace apr::tools
