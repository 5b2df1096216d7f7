// The default op timer of a backend: the host's steady clock. Right for
// backends whose ops are synchronous (the CPU); a device backend overrides
// Backend::make_op_timer with one built on device events. Also the default
// argmax (on the host) and host-to-backend copy.
#include <chrono>
#include <cstring>
#include <vector>

#include "core/fail.hpp"
#include "model/backend.hpp"

namespace apr::model {
namespace {

class HostOpTimer final : public OpTimer {
public:
    Mark mark() override {
        marks_.push_back(std::chrono::steady_clock::now());
        return marks_.size() - 1;
    }
    double ms(Mark from, Mark to) override {
        return std::chrono::duration<double, std::milli>(marks_.at(to) - marks_.at(from)).count();
    }

private:
    std::vector<std::chrono::steady_clock::time_point> marks_;
};

}  // namespace

std::unique_ptr<OpTimer> Backend::make_op_timer() { return std::make_unique<HostOpTimer>(); }

void Backend::from_host(const float* src, int64_t n, float* dst) {
    if (!host_memory()) fail(ErrorCode::internal, "the {} backend has device buffers but no from_host", name());
    std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
}

void Backend::argmax_to_host(const float* x, int64_t rows, int64_t n, int32_t* ids) {
    std::vector<float> copy;
    if (!host_memory()) {
        copy.resize(static_cast<size_t>(rows * n));
        to_host(x, rows * n, copy.data());
        x = copy.data();
    }
    for (int64_t r = 0; r < rows; ++r) {
        const float* row = x + r * n;
        int64_t best = 0;
        for (int64_t i = 1; i < n; ++i)
            if (row[i] > row[best]) best = i;  // strictly greater: the first maximum wins, as in Sampler
        ids[r] = static_cast<int32_t>(best);
    }
}

}  // namespace apr::model
