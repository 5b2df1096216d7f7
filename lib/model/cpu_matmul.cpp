#include "model/cpu_matmul.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <new>
#include <string>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "core/fail.hpp"
#include "cpu/matmul.hpp"
#include "cpu/quant_dot.hpp"
#include "cpu/repack.hpp"
#include "quant/dequantize.hpp"

namespace apr::model {
namespace {

constexpr size_t kAlign = 64;

bool repack_enabled() {
    const char* v = std::getenv("APR_REPACK");
    return v == nullptr || std::strcmp(v, "0") != 0;
}

// Whether [p, p + n) lies inside one shared, file-backed mapping of this
// process (then MADV_DONTNEED only drops our page-table entries: a later
// read faults the same bytes back in from the page cache). Private or
// anonymous memory (a heap copy of a tensor) is never released: there
// MADV_DONTNEED would discard the data.
bool in_shared_file_mapping(const void* p, size_t n) {
    std::ifstream maps("/proc/self/maps");
    const auto begin = reinterpret_cast<uintptr_t>(p), end = begin + n;
    std::string line;
    while (std::getline(maps, line)) {
        unsigned long lo = 0, hi = 0, offset = 0, inode = 0;
        char perms[8] = {0}, dev[16] = {0};
        if (std::sscanf(line.c_str(), "%lx-%lx %7s %lx %15s %lu", &lo, &hi, perms, &offset, dev, &inode) != 6)
            continue;
        if (begin >= lo && end <= hi) return perms[3] == 's' && inode != 0;
    }
    return false;
}

// Drops this process's pages of a file mapping range (whole pages inside it).
void release_pages(const std::byte* p, size_t n) {
    static const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    const uintptr_t lo = (reinterpret_cast<uintptr_t>(p) + page - 1) & ~(page - 1);
    const uintptr_t hi = (reinterpret_cast<uintptr_t>(p) + n) & ~(page - 1);
    if (hi > lo) ::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
}

}  // namespace

void CpuMatmul::AlignedFree::operator()(std::byte* p) const { ::operator delete[](p, std::align_val_t(kAlign)); }

CpuMatmul::CpuMatmul() : level_(cpu::selected_simd_level()), repack_(repack_enabled()) {}

bool CpuMatmul::supports(DType type) const { return cpu::weight_type_supported(type); }

Weight CpuMatmul::bind(const TensorView& t, bool repack) {
    Weight w{t.name, t.dtype, t.data, t.rows(), t.cols()};
    if (t.shape.size() == 1) w.rows = 1;
    if (!repack || !repack_ || t.shape.size() != 2 || !cpu::repack_supported(t.dtype, w.rows, w.cols, level_)) return w;
    const size_t bytes = cpu::repacked_bytes(t.dtype, w.rows, w.cols, level_);
    std::unique_ptr<std::byte[], AlignedFree> packed(new (std::align_val_t(kAlign)) std::byte[bytes]);
    // Slices of rows, each released from the mapping once repacked: the
    // peak extra memory is a few slices, not a second copy of the tensor.
    const bool release = in_shared_file_mapping(t.data, t.nbytes);
    const size_t row_bytes = dtype_bytes(t.dtype, w.cols);
    const int64_t group = cpu::repack_group_rows(level_);
    const int64_t slice = std::max<int64_t>(group, (int64_t{1} << 20) / static_cast<int64_t>(row_bytes) / group * group);
    const int64_t slices = (w.rows + slice - 1) / slice;
    tbb::parallel_for(tbb::blocked_range<int64_t>(0, slices), [&](const tbb::blocked_range<int64_t>& r) {
        for (int64_t i = r.begin(); i < r.end(); ++i) {
            const int64_t r0 = i * slice, r1 = std::min(w.rows, r0 + slice);
            cpu::repack_rows(t.dtype, t.data, w.cols, r0, r1, packed.get(), level_);
            if (release) release_pages(t.data + r0 * row_bytes, static_cast<size_t>(r1 - r0) * row_bytes);
        }
    });
    w.data = packed.get();
    w.repacked = true;
    repacked_bytes_ += bytes;
    repacked_.push_back(std::move(packed));
    return w;
}

void CpuMatmul::run(const Weight& w, const float* x, int64_t rows, float* y) const {
    const auto* data = static_cast<const std::byte*>(w.data);
    if (w.repacked) {
        cpu::matmul_repacked_f32(cpu::RepackedWeight{w.type, data, w.rows, w.cols}, x, rows, y, level_);
        return;
    }
    cpu::matmul(cpu::MatmulWeight{w.type, data, w.rows, w.cols}, x, rows, y, level_);
}

void CpuMatmul::run_shared(std::span<const Weight* const> ws, const float* x, int64_t rows,
                           std::span<float* const> ys) const {
    bool shared = !ws.empty() && rows > 0;
    for (const Weight* w : ws)
        shared = shared && w->cols == ws[0]->cols && cpu::activation_type(w->type) == cpu::activation_type(ws[0]->type) &&
                 cpu::activation_type(w->type) != DType::F32;
    if (!shared) {
        for (size_t i = 0; i < ws.size(); ++i) run(*ws[i], x, rows, ys[i]);
        return;
    }
    bool all_repacked = true;
    for (const Weight* w : ws) all_repacked = all_repacked && w->repacked;
    cpu::with_quantized_activations(ws[0]->type, x, rows, ws[0]->cols, level_, [&](const std::byte* act) {
        if (all_repacked && ws.size() <= 4) {  // one parallel region for all of them
            std::array<cpu::RepackedWeight, 4> rw;
            for (size_t i = 0; i < ws.size(); ++i)
                rw[i] = cpu::RepackedWeight{ws[i]->type, static_cast<const std::byte*>(ws[i]->data), ws[i]->rows, ws[i]->cols};
            cpu::matmul_repacked_many(std::span(rw.data(), ws.size()), act, rows, ys, level_);
            return;
        }
        for (size_t i = 0; i < ws.size(); ++i) {
            const Weight& w = *ws[i];
            const auto* data = static_cast<const std::byte*>(w.data);
            if (w.repacked) cpu::matmul_repacked(cpu::RepackedWeight{w.type, data, w.rows, w.cols}, act, rows, ys[i], level_);
            else cpu::matmul_quantized(cpu::MatmulWeight{w.type, data, w.rows, w.cols}, act, rows, ys[i], level_);
        }
    });
}

void CpuMatmul::dequantize_row(const Weight& w, int64_t row, float* out) const {
    const auto* data = static_cast<const std::byte*>(w.data);
    if (w.repacked) {
        cpu::dequantize_repacked_row(w.type, data, w.cols, row, out, level_);
        return;
    }
    quant::dequantize_row(w.type, data + static_cast<size_t>(row) * dtype_bytes(w.type, w.cols), out, w.cols);
}

}  // namespace apr::model
