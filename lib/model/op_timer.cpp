// The default op timer of a backend: the host's steady clock. Right for
// backends whose ops are synchronous (the CPU); a device backend overrides
// Backend::make_op_timer with one built on device events.
#include <chrono>

#include "model/backend.hpp"

namespace apr::model {
namespace {

class HostOpTimer final : public OpTimer {
public:
    void start() override { start_ = std::chrono::steady_clock::now(); }
    double stop_ms() override {
        return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_).count();
    }

private:
    std::chrono::steady_clock::time_point start_;
};

}  // namespace

std::unique_ptr<OpTimer> Backend::make_op_timer() { return std::make_unique<HostOpTimer>(); }

}  // namespace apr::model
