// The AVX-512 kernel table: AVX-512 code where written, AVX2 elsewhere.
#include "cpu/avx512/avx512_kernels.hpp"
#include "cpu/kernel_table.hpp"

namespace apr::cpu {

namespace {

KernelTable make_avx512_table() {
    KernelTable t = avx2_kernels();
    return t;
}

}  // namespace

const KernelTable& avx512_kernels() noexcept {
    static const KernelTable table = make_avx512_table();
    return table;
}

}  // namespace apr::cpu
