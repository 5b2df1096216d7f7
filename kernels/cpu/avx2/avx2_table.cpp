// The AVX2 kernel table: AVX2 code where written, scalar elsewhere.
#include "cpu/avx2/avx2_kernels.hpp"
#include "cpu/kernel_table.hpp"

namespace apr::cpu {

namespace {

KernelTable make_avx2_table() {
    KernelTable t = scalar_kernels();
    return t;
}

}  // namespace

const KernelTable& avx2_kernels() noexcept {
    static const KernelTable table = make_avx2_table();
    return table;
}

}  // namespace apr::cpu
