#include <cmath>

#include "apr/trace.hpp"

namespace apr::trace {

TensorStats tensor_stats(const float* data, int64_t n) {
    TensorStats s;
    if (data == nullptr || n <= 0) return s;
    double sum = 0, sum_sq = 0;
    double lo = INFINITY, hi = -INFINITY;
    int64_t finite = 0;
    for (int64_t i = 0; i < n; ++i) {
        const float v = data[i];
        if (std::isnan(v)) {
            ++s.nan;
            continue;
        }
        if (std::isinf(v)) {
            ++s.inf;
            continue;
        }
        if (v == 0.0f) ++s.zeros;
        ++finite;
        sum += v;
        sum_sq += static_cast<double>(v) * v;
        lo = std::min<double>(lo, v);
        hi = std::max<double>(hi, v);
    }
    s.count = n;
    if (finite > 0) {
        s.min = lo;
        s.max = hi;
        s.mean = sum / static_cast<double>(finite);
        s.std = std::sqrt(std::max(0.0, sum_sq / static_cast<double>(finite) - s.mean * s.mean));
    }
    return s;
}

}  // namespace apr::trace
