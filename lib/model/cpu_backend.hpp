// The CPU implementation of the backend interface: weights are views into
// the file mapping, buffers are host memory, and every op runs inside one
// oneTBB task arena sized by the model's thread count. Each output value is
// computed by the same code whatever the split into tasks, so results do
// not depend on the thread count.
#pragma once

#include <memory>

#include "model/backend.hpp"

namespace apr::model {

// threads: 0 = every hardware thread.
std::unique_ptr<Backend> make_cpu_backend(int threads);

}  // namespace apr::model
