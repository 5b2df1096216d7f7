#include "model/cpu_matmul.hpp"

#include "core/fail.hpp"
#include "cpu/matmul.hpp"
#include "cpu/quant_dot.hpp"

namespace apr::model {

CpuMatmul::CpuMatmul() : level_(cpu::selected_simd_level()) {}

bool CpuMatmul::supports(DType type) const { return cpu::weight_type_supported(type); }

void CpuMatmul::run(const Weight& w, const float* x, int64_t rows, float* y) const {
    const cpu::MatmulWeight mw{w.type, static_cast<const std::byte*>(w.data), w.rows, w.cols};
    cpu::matmul(mw, x, rows, y, level_);
}

}  // namespace apr::model
