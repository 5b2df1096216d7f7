// The CUDA kernels against the CPU reference on random inputs of many
// shapes: activation quantization byte for byte, matrix products for every
// weight type (odd row counts, inner sizes that are not powers of two where
// the type allows), embedding rows bit for bit, the row ops, attention and
// argmax. Fresh random data for every check; outputs are poisoned (NaN)
// before each launch so an unwritten value fails.
#include <catch2/catch.hpp>

#include <cuda_runtime.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "core/half.hpp"
#include "cpu/matmul.hpp"
#include "cpu/ops.hpp"
#include "cpu/quant_dot.hpp"
#include "cuda/kernels.hpp"
#include "quant/dequantize.hpp"
#include "quant/quantize.hpp"

using namespace apr;

namespace {

std::mt19937& rng() {
    static std::mt19937 g(12345);
    return g;
}

std::vector<float> random_floats(size_t n, float scale = 1.0f) {
    std::normal_distribution<float> dist(0.0f, scale);
    std::vector<float> v(n);
    for (float& x : v) x = dist(rng());
    return v;
}

void ok(cudaError_t e) { REQUIRE(e == cudaSuccess); }

// Device memory for a test, freed at scope end.
struct Dev {
    void* p = nullptr;
    size_t bytes = 0;
    explicit Dev(size_t n) : bytes(n) { ok(cudaMalloc(&p, n ? n : 1)); }
    ~Dev() { cudaFree(p); }
    template <typename T> T* as() const { return static_cast<T*>(p); }
    void put(const void* src) const { ok(cudaMemcpy(p, src, bytes, cudaMemcpyHostToDevice)); }
    void poison() const { ok(cudaMemset(p, 0xff, bytes)); }  // NaN for floats
    void zero() const { ok(cudaMemset(p, 0, bytes)); }
    template <typename T> std::vector<T> get() const {
        ok(cudaDeviceSynchronize());
        ok(cudaGetLastError());
        std::vector<T> out(bytes / sizeof(T));
        ok(cudaMemcpy(out.data(), p, bytes, cudaMemcpyDeviceToHost));
        return out;
    }
};

// A random weight matrix of `type`: random floats quantized by the CPU.
std::vector<std::byte> random_weight(DType type, int64_t n, int64_t k) {
    const std::vector<float> f = random_floats(static_cast<size_t>(n * k), 0.5f);
    const size_t row = dtype_bytes(type, k);
    std::vector<std::byte> w(row * static_cast<size_t>(n));
    for (int64_t r = 0; r < n; ++r) quant::quantize_row(type, f.data() + r * k, w.data() + r * row, k);
    return w;
}

// max |a - b| / max(1, max |b|): the rows' sums differ only in order.
double rel_error(const std::vector<float>& a, const std::vector<float>& b) {
    double err = 0, ref = 1;
    for (size_t i = 0; i < b.size(); ++i) {
        if (!std::isfinite(a[i])) return INFINITY;
        err = std::max(err, std::abs(static_cast<double>(a[i]) - b[i]));
        ref = std::max(ref, std::abs(static_cast<double>(b[i])));
    }
    return err / ref;
}

void check_matmul(DType type, int64_t n, int64_t k, int64_t rows) {
    INFO(dtype_name(type) << " n=" << n << " k=" << k << " rows=" << rows);
    const std::vector<std::byte> w = random_weight(type, n, k);
    const std::vector<float> x = random_floats(static_cast<size_t>(rows * k));
    std::vector<float> ref(static_cast<size_t>(rows * n));
    cpu::matmul({type, w.data(), n, k}, x.data(), rows, ref.data(), cpu::SimdLevel::scalar);

    Dev dw(w.size()), dx(x.size() * 4), dact(cuda::activation_row_bytes(type, k) * rows), dy(ref.size() * 4);
    dw.put(w.data());
    dx.put(x.data());
    dy.poison();
    const bool is_float = type == DType::F32 || type == DType::F16 || type == DType::BF16;
    if (!is_float) {
        cuda::quantize_activations(type, dx.as<float>(), rows, k, dact.p, nullptr);
        // The activation bytes equal the CPU quantizer's.
        const std::vector<std::byte> got = dact.get<std::byte>();
        const size_t arow = cpu::activation_row_bytes(type, k);
        std::vector<std::byte> want(arow * static_cast<size_t>(rows));
        for (int64_t r = 0; r < rows; ++r)
            cpu::quantize_activation_row(type, x.data() + r * k, want.data() + r * arow, k, cpu::SimdLevel::scalar);
        REQUIRE(got.size() == want.size());
        CHECK(std::memcmp(got.data(), want.data(), got.size()) == 0);
    }
    cuda::matmul_quantized(type, dw.p, n, k, is_float ? dx.p : dact.p, rows, dy.as<float>(), nullptr);
    CHECK(rel_error(dy.get<float>(), ref) < 2e-5);
}

}  // namespace

TEST_CASE("matmul: every K-quant type, many shapes, matches the CPU") {
    for (DType t : {DType::Q4_K, DType::Q5_K, DType::Q6_K})
        for (auto [n, k] : {std::pair<int64_t, int64_t>{1, 256}, {7, 512}, {33, 768}, {67, 1280}, {130, 2304}})
            for (int64_t rows : {1, 2, 3, 5, 8, 17})
                check_matmul(t, n, k, rows);
}

TEST_CASE("matmul: every 32-block type, many shapes, matches the CPU") {
    for (DType t : {DType::Q8_0, DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1})
        for (auto [n, k] : {std::pair<int64_t, int64_t>{1, 32}, {5, 96}, {31, 160}, {67, 544}, {129, 1056}})
            for (int64_t rows : {1, 3, 4, 9, 20})
                check_matmul(t, n, k, rows);
}

TEST_CASE("matmul: float weights (F32, F16, BF16) with any inner size match the CPU") {
    for (DType t : {DType::F32, DType::F16, DType::BF16})
        for (auto [n, k] : {std::pair<int64_t, int64_t>{1, 1}, {3, 37}, {19, 100}, {65, 513}})
            for (int64_t rows : {1, 2, 11})
                check_matmul(t, n, k, rows);
}

TEST_CASE("get_rows: embedding rows are bit-identical to the CPU dequantizer for every type") {
    for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_1, DType::Q5_0,
                    DType::Q5_1, DType::Q4_K, DType::Q5_K, DType::Q6_K}) {
        INFO(dtype_name(t));
        const int64_t vocab = 37, cols = 512;
        const std::vector<std::byte> table = random_weight(t, vocab, cols);
        const std::vector<int32_t> ids = {5, 0, 36, 5, 17};
        Dev dt(table.size()), di(ids.size() * 4), dy(ids.size() * cols * 4);
        dt.put(table.data());
        di.put(ids.data());
        dy.poison();
        cuda::get_rows(t, dt.p, cols, di.as<int32_t>(), static_cast<int64_t>(ids.size()), dy.as<float>(), nullptr);
        const std::vector<float> got = dy.get<float>();
        std::vector<float> want(got.size());
        const size_t row = dtype_bytes(t, cols);
        for (size_t r = 0; r < ids.size(); ++r)
            quant::dequantize_row(t, table.data() + static_cast<size_t>(ids[r]) * row, want.data() + r * cols, cols);
        CHECK(std::memcmp(got.data(), want.data(), got.size() * 4) == 0);
    }
}

TEST_CASE("rmsnorm, bias, swiglu, add and gather match the CPU") {
    for (int64_t cols : {1, 31, 512, 1537}) {
        INFO("cols " << cols);
        const int64_t rows = 5;
        const auto x = random_floats(static_cast<size_t>(rows * cols), 3.0f);
        const auto w = random_floats(static_cast<size_t>(cols));
        Dev dx(x.size() * 4), dw(w.size() * 4), dy(x.size() * 4);
        dx.put(x.data());
        dw.put(w.data());
        dy.poison();
        cuda::rmsnorm(dx.as<float>(), dw.as<float>(), 1e-6f, rows, cols, dy.as<float>(), nullptr);
        std::vector<float> want(x.size());
        for (int64_t r = 0; r < rows; ++r) cpu::rmsnorm_row(x.data() + r * cols, w.data(), cols, 1e-6f, want.data() + r * cols);
        CHECK(rel_error(dy.get<float>(), want) < 1e-6);

        cuda::add_bias(dx.as<float>(), dw.as<float>(), rows, cols, nullptr);
        std::vector<float> biased = x;
        for (int64_t r = 0; r < rows; ++r) cpu::add_row(biased.data() + r * cols, w.data(), cols);
        CHECK(dx.get<float>() == biased);

        const auto g = random_floats(x.size(), 4.0f), u = random_floats(x.size());
        Dev dg(g.size() * 4), du(u.size() * 4);
        dg.put(g.data());
        du.put(u.data());
        dy.poison();
        cuda::swiglu(dg.as<float>(), du.as<float>(), static_cast<int64_t>(g.size()), dy.as<float>(), nullptr);
        std::vector<float> sw(g.size());
        cpu::swiglu_row(g.data(), u.data(), static_cast<int64_t>(g.size()), sw.data());
        CHECK(rel_error(dy.get<float>(), sw) < 1e-6);

        cuda::add(dg.as<float>(), du.as<float>(), static_cast<int64_t>(g.size()), nullptr);
        std::vector<float> sum = g;
        cpu::add_row(sum.data(), u.data(), static_cast<int64_t>(g.size()));
        CHECK(dg.get<float>() == sum);

        const std::vector<int32_t> pick = {4, 0, 2};
        Dev dp(pick.size() * 4), dout(pick.size() * cols * 4);
        dp.put(pick.data());
        dout.poison();
        cuda::gather_rows(du.as<float>(), dp.as<int32_t>(), 3, cols, dout.as<float>(), nullptr);
        std::vector<float> gathered;
        for (int32_t r : pick) gathered.insert(gathered.end(), u.begin() + r * cols, u.begin() + (r + 1) * cols);
        CHECK(dout.get<float>() == gathered);
    }
}

TEST_CASE("rope (NEOX and normal pairs) matches the CPU") {
    for (int64_t hd : {2, 64, 96, 128}) {
        for (bool neox : {true, false}) {
            INFO("head_dim " << hd << (neox ? " neox" : " normal"));
            const int64_t rows = 4, heads = 3;
            const std::vector<int32_t> pos = {0, 1, 517, 4000};
            auto x = random_floats(static_cast<size_t>(rows * heads * hd));
            std::vector<float> inv(static_cast<size_t>(hd / 2));
            for (int64_t i = 0; i < hd / 2; ++i)
                inv[static_cast<size_t>(i)] = 1.0f / std::pow(1e6f, static_cast<float>(2 * i) / static_cast<float>(hd));
            Dev dx(x.size() * 4), dp(pos.size() * 4), di(inv.size() * 4);
            dx.put(x.data());
            dp.put(pos.data());
            di.put(inv.data());
            cuda::rope(dx.as<float>(), dp.as<int32_t>(), rows, heads, hd, di.as<float>(), neox, nullptr);
            for (int64_t r = 0; r < rows; ++r)
                for (int64_t h = 0; h < heads; ++h)
                    (neox ? cpu::rope_neox_head : cpu::rope_normal_head)(x.data() + (r * heads + h) * hd, hd,
                                                                         static_cast<float>(pos[r]), inv.data());
            CHECK(rel_error(dx.get<float>(), x) < 2e-5);
        }
    }
}

TEST_CASE("attention over f32 and f16 caches matches the CPU, GQA and odd head sizes") {
    struct Shape { int64_t heads, kv_heads, hd; };
    for (Shape s : {Shape{4, 2, 64}, Shape{12, 2, 128}, Shape{3, 1, 80}, Shape{2, 2, 6}}) {
        for (const auto& [f16, rows] : {std::pair{false, int64_t{3}}, std::pair{true, int64_t{3}}, std::pair{false, int64_t{520}},
                                        std::pair{true, int64_t{520}}}) {
            INFO("heads " << s.heads << "/" << s.kv_heads << " hd " << s.hd << (f16 ? " f16" : " f32") << ", rows " << rows);
            const int64_t layers = 2, cap = 600, kv_dim = s.kv_heads * s.hd, q_dim = s.heads * s.hd, layer = 1;
            // Fill the cache with random keys/values, then attend from 3 rows
            // (16 warps a block) or 520 (4 warps: over 1,024 blocks for every
            // shape here), each at its own position.
            std::vector<int32_t> pos(static_cast<size_t>(rows));
            for (int64_t r = 0; r < rows; ++r) pos[static_cast<size_t>(r)] = static_cast<int32_t>(r * (cap - 1) / (rows - 1));
            const auto kc = random_floats(static_cast<size_t>(layers * cap * kv_dim));
            const auto vc = random_floats(static_cast<size_t>(layers * cap * kv_dim));
            const size_t esz = f16 ? 2 : 4;
            std::vector<uint16_t> k16(kc.size()), v16(vc.size());
            for (size_t i = 0; i < kc.size(); ++i) {
                k16[i] = f32_to_f16(kc[i]);
                v16[i] = f32_to_f16(vc[i]);
            }
            Dev dk(kc.size() * esz), dv(vc.size() * esz);
            dk.put(f16 ? static_cast<const void*>(k16.data()) : kc.data());
            dv.put(f16 ? static_cast<const void*>(v16.data()) : vc.data());
            // This batch's own k/v rows go through kv_store.
            const auto kn = random_floats(static_cast<size_t>(rows * kv_dim)), vn = random_floats(static_cast<size_t>(rows * kv_dim));
            const auto q = random_floats(static_cast<size_t>(rows * q_dim));
            std::vector<void*> kb(rows, dk.p), vb(rows, dv.p);
            std::vector<int32_t> caps(rows, static_cast<int32_t>(cap));
            Dev dkb(rows * sizeof(void*)), dvb(rows * sizeof(void*)), dcap(rows * 4), dpos(rows * 4), dkn(kn.size() * 4),
                dvn(vn.size() * 4), dq(q.size() * 4), dout(q.size() * 4);
            dkb.put(kb.data());
            dvb.put(vb.data());
            dcap.put(caps.data());
            dpos.put(pos.data());
            dkn.put(kn.data());
            dvn.put(vn.data());
            dq.put(q.data());
            dout.poison();
            const cuda::KVRows kv{dkb.as<void*>(), dvb.as<void*>(), dcap.as<int32_t>(), f16};
            cuda::kv_store(kv, static_cast<int>(layer), dkn.as<float>(), dvn.as<float>(), dpos.as<int32_t>(), rows, kv_dim, nullptr);
            const float scale = 1.0f / std::sqrt(static_cast<float>(s.hd));
            cuda::attention(kv, static_cast<int>(layer), dq.as<float>(), dpos.as<int32_t>(), rows, s.heads, s.kv_heads,
                            s.hd, scale, dout.as<float>(), nullptr);
            const std::vector<float> got = dout.get<float>();
            // CPU reference over the same cache contents.
            std::vector<float> kr = kc, vr = vc;
            std::vector<uint16_t> k16r = k16, v16r = v16;
            for (int64_t r = 0; r < rows; ++r)
                for (int64_t i = 0; i < kv_dim; ++i) {
                    const size_t at = static_cast<size_t>((layer * cap + pos[r]) * kv_dim + i);
                    kr[at] = kn[static_cast<size_t>(r * kv_dim + i)];
                    vr[at] = vn[static_cast<size_t>(r * kv_dim + i)];
                    k16r[at] = f32_to_f16(kr[at]);
                    v16r[at] = f32_to_f16(vr[at]);
                }
            std::vector<float> want(q.size()), scores(cap);
            std::vector<uint16_t> q16(static_cast<size_t>(s.hd)), acc16(static_cast<size_t>(s.hd));
            for (int64_t r = 0; r < rows; ++r)
                for (int64_t h = 0; h < s.heads; ++h) {
                    const int64_t kvh = h / (s.heads / s.kv_heads);
                    const size_t base = static_cast<size_t>(layer * cap * kv_dim + kvh * s.hd);
                    float* o = want.data() + r * q_dim + h * s.hd;
                    if (f16) {
                        // The CPU's f16 path keeps its P.V sum in f16; compare with an f32 sum over the same f16 values.
                        cpu::f32_to_f16_row(q.data() + r * q_dim + h * s.hd, q16.data(), s.hd);
                        std::vector<float> qf(static_cast<size_t>(s.hd)), kf(static_cast<size_t>(pos[r] + 1) * s.hd),
                            vf(kf.size());
                        for (int64_t i = 0; i < s.hd; ++i) qf[static_cast<size_t>(i)] = f16_to_f32(q16[static_cast<size_t>(i)]);
                        for (int64_t j = 0; j <= pos[r]; ++j)
                            for (int64_t i = 0; i < s.hd; ++i) {
                                kf[static_cast<size_t>(j * s.hd + i)] = f16_to_f32(k16r[base + j * kv_dim + i]);
                                vf[static_cast<size_t>(j * s.hd + i)] = f16_to_f32(v16r[base + j * kv_dim + i]);
                            }
                        cpu::attend_head_f32(qf.data(), kf.data(), vf.data(), s.hd, pos[r] + 1, s.hd, scale, scores.data(), o);
                    } else {
                        cpu::attend_head_f32(q.data() + r * q_dim + h * s.hd, kr.data() + base, vr.data() + base, kv_dim,
                                             pos[r] + 1, s.hd, scale, scores.data(), o);
                    }
                }
            CHECK(rel_error(got, want) < 1e-5);
        }
    }
}

TEST_CASE("rope_qk_store equals rope_qk + kv_store bit for bit") {
    struct Shape { int64_t heads, kv_heads, hd; };
    for (Shape s : {Shape{12, 2, 128}, Shape{4, 2, 64}, Shape{3, 1, 80}, Shape{2, 2, 7}}) {
        for (const auto& [f16, neox] : {std::pair{false, true}, std::pair{true, true}, std::pair{true, false}}) {
            INFO("heads " << s.heads << "/" << s.kv_heads << " hd " << s.hd << (f16 ? " f16" : " f32") << (neox ? " neox" : " adjacent"));
            // 40 rows at positions of their own in one cache (a prompt's
            // shape; decode rows differ only in their caches).
            const int64_t layers = 2, cap = 200, rows = 40, kv_dim = s.kv_heads * s.hd, q_dim = s.heads * s.hd, layer = 1;
            const size_t esz = f16 ? 2 : 4, cache_bytes = static_cast<size_t>(layers * cap * kv_dim) * esz;
            std::vector<int32_t> pos(static_cast<size_t>(rows));
            for (int64_t r = 0; r < rows; ++r) pos[static_cast<size_t>(r)] = static_cast<int32_t>(r * 5 + 3);
            const auto q = random_floats(static_cast<size_t>(rows * q_dim));
            const auto k = random_floats(static_cast<size_t>(rows * kv_dim)), v = random_floats(static_cast<size_t>(rows * kv_dim));
            std::vector<float> inv(static_cast<size_t>(s.hd / 2));
            for (int64_t i = 0; i < s.hd / 2; ++i)
                inv[static_cast<size_t>(i)] = 1.0f / std::pow(1e6f, static_cast<float>(2 * i) / static_cast<float>(s.hd));
            Dev dq(q.size() * 4), dk(k.size() * 4), dq2(q.size() * 4), dk2(k.size() * 4), dv(v.size() * 4), dpos(rows * 4),
                dinv(inv.size() * 4), kc(cache_bytes), vc(cache_bytes), kc2(cache_bytes), vc2(cache_bytes), dcap(rows * 4),
                dkb(rows * sizeof(void*)), dvb(rows * sizeof(void*)), dkb2(rows * sizeof(void*)), dvb2(rows * sizeof(void*));
            for (const Dev* d : {&dq, &dq2}) d->put(q.data());
            for (const Dev* d : {&dk, &dk2}) d->put(k.data());
            dv.put(v.data());
            dpos.put(pos.data());
            dinv.put(inv.data());
            for (const Dev* d : {&kc, &vc, &kc2, &vc2}) ok(cudaMemset(d->p, 0x3c, cache_bytes));
            const std::vector<int32_t> caps(static_cast<size_t>(rows), static_cast<int32_t>(cap));
            dcap.put(caps.data());
            const std::vector<void*> kb(static_cast<size_t>(rows), kc.p), vb(static_cast<size_t>(rows), vc.p),
                kb2(static_cast<size_t>(rows), kc2.p), vb2(static_cast<size_t>(rows), vc2.p);
            dkb.put(kb.data());
            dvb.put(vb.data());
            dkb2.put(kb2.data());
            dvb2.put(vb2.data());
            const cuda::KVRows one{dkb.as<void*>(), dvb.as<void*>(), dcap.as<int32_t>(), f16};
            const cuda::KVRows two{dkb2.as<void*>(), dvb2.as<void*>(), dcap.as<int32_t>(), f16};
            cuda::rope_qk_store(one, static_cast<int>(layer), dq.as<float>(), dk.as<float>(), dv.as<float>(), dpos.as<int32_t>(),
                                rows, s.heads, s.kv_heads, s.hd, dinv.as<float>(), neox, nullptr);
            cuda::rope_qk(dq2.as<float>(), dk2.as<float>(), dpos.as<int32_t>(), rows, s.heads, s.kv_heads, s.hd,
                          dinv.as<float>(), neox, nullptr);
            cuda::kv_store(two, static_cast<int>(layer), dk2.as<float>(), dv.as<float>(), dpos.as<int32_t>(), rows, kv_dim,
                           nullptr);
            CHECK(dq.get<uint8_t>() == dq2.get<uint8_t>());
            CHECK(dk.get<uint8_t>() == dk2.get<uint8_t>());
            CHECK(kc.get<uint8_t>() == kc2.get<uint8_t>());
            CHECK(vc.get<uint8_t>() == vc2.get<uint8_t>());
            // Both did something: q roped, the cache written.
            CHECK(dq.get<float>() != q);
            CHECK(kc.get<uint8_t>() != std::vector<uint8_t>(cache_bytes, 0x3c));
        }
    }
}

TEST_CASE("fused decode attention (rope, cache store, split over the cache) equals rope_qk + kv_store + attention") {
    struct Shape { int64_t heads, kv_heads, hd; };
    // Grouped by KV head (head sizes 32/64/128, up to 8 query heads per KV
    // head: 14/2 is Qwen2.5-1.5B's, 8/1 the widest group), and per query
    // head (80 and 6 are not grouped).
    for (Shape s : {Shape{14, 2, 128}, Shape{12, 2, 128}, Shape{4, 2, 64}, Shape{8, 1, 32}, Shape{3, 1, 80}, Shape{2, 2, 6}}) {
        // Capacity 1024: chunks of 32 positions, so the later rows span up to
        // 32 chunks; 20,000 (head sizes 128 and 32, f16): chunks of 128
        // (2 threads a key in the grouped kernel's scores, as at 16,384
        // positions), 157 of them merged.
        for (const auto& [f16, cap] : {std::pair{false, int64_t{1024}}, std::pair{true, int64_t{1024}}, std::pair{true, int64_t{20000}}}) {
            if (cap > 1024 && s.hd != 128 && s.hd != 32) continue;
            const int64_t layers = 2, kv_dim = s.kv_heads * s.hd, q_dim = s.heads * s.hd, layer = 1;
            const std::vector<int32_t> pos = {0, 31, 32, 299, static_cast<int32_t>(cap - 1)};
            const int64_t rows = static_cast<int64_t>(pos.size());
            INFO("heads " << s.heads << "/" << s.kv_heads << " hd " << s.hd << (f16 ? " f16" : " f32") << " capacity " << cap);
            const size_t esz = f16 ? 2 : 4;
            // Each row is its own sequence with its own cache (random contents below its position).
            std::vector<std::vector<std::byte>> init(static_cast<size_t>(rows));
            std::vector<std::unique_ptr<Dev>> ka, va, kb_ref, vb_ref;
            std::vector<void*> kb, vb, kbr, vbr;
            for (int64_t r = 0; r < rows; ++r) {
                const auto kc = random_floats(static_cast<size_t>(layers * cap * kv_dim));
                const auto vc = random_floats(static_cast<size_t>(layers * cap * kv_dim));
                std::vector<uint16_t> k16(kc.size()), v16(vc.size());
                for (size_t i = 0; i < kc.size(); ++i) {
                    k16[i] = f32_to_f16(kc[i]);
                    v16[i] = f32_to_f16(vc[i]);
                }
                for (auto* list : {&ka, &va, &kb_ref, &vb_ref}) list->push_back(std::make_unique<Dev>(kc.size() * esz));
                ka.back()->put(f16 ? static_cast<const void*>(k16.data()) : kc.data());
                kb_ref.back()->put(f16 ? static_cast<const void*>(k16.data()) : kc.data());
                va.back()->put(f16 ? static_cast<const void*>(v16.data()) : vc.data());
                vb_ref.back()->put(f16 ? static_cast<const void*>(v16.data()) : vc.data());
                kb.push_back(ka.back()->p);
                vb.push_back(va.back()->p);
                kbr.push_back(kb_ref.back()->p);
                vbr.push_back(vb_ref.back()->p);
            }
            const auto q = random_floats(static_cast<size_t>(rows * q_dim));
            const auto kn = random_floats(static_cast<size_t>(rows * kv_dim)), vn = random_floats(static_cast<size_t>(rows * kv_dim));
            std::vector<float> inv(static_cast<size_t>(s.hd / 2));
            for (int64_t i = 0; i < s.hd / 2; ++i)
                inv[static_cast<size_t>(i)] = 1.0f / std::pow(1e6f, static_cast<float>(2 * i) / static_cast<float>(s.hd));
            std::vector<int32_t> caps(static_cast<size_t>(rows), static_cast<int32_t>(cap));
            Dev dkb(rows * sizeof(void*)), dvb(rows * sizeof(void*)), dkbr(rows * sizeof(void*)), dvbr(rows * sizeof(void*)),
                dcap(rows * 4), dpos(rows * 4), dinv(inv.size() * 4), dq(q.size() * 4), dk(kn.size() * 4), dv(vn.size() * 4),
                dq2(q.size() * 4), dk2(kn.size() * 4), dout(q.size() * 4), dref(q.size() * 4),
                scratch(cuda::attention_decode_scratch_bytes(rows, s.heads, s.hd, cap));
            ok(cudaMemset(scratch.p, 0, scratch.bytes));
            dkb.put(kb.data());
            dvb.put(vb.data());
            dkbr.put(kbr.data());
            dvbr.put(vbr.data());
            dcap.put(caps.data());
            dpos.put(pos.data());
            dinv.put(inv.data());
            dq.put(q.data());
            dk.put(kn.data());
            dv.put(vn.data());
            dq2.put(q.data());
            dk2.put(kn.data());
            dout.poison();
            dref.poison();
            const float scale = 1.0f / std::sqrt(static_cast<float>(s.hd));
            const cuda::KVRows kv{dkb.as<void*>(), dvb.as<void*>(), dcap.as<int32_t>(), f16};
            const cuda::KVRows kvr{dkbr.as<void*>(), dvbr.as<void*>(), dcap.as<int32_t>(), f16};
            // Twice: the second launch finds the counters the first reset.
            for (int rep = 0; rep < 2; ++rep)
                cuda::attention_decode(kv, static_cast<int>(layer), dq.as<float>(), dk.as<float>(), dv.as<float>(),
                                       dpos.as<int32_t>(), rows, s.heads, s.kv_heads, s.hd, scale, dinv.as<float>(), true,
                                       cap, scratch.p, dout.as<float>(), nullptr);
            cuda::rope_qk(dq2.as<float>(), dk2.as<float>(), dpos.as<int32_t>(), rows, s.heads, s.kv_heads, s.hd,
                          dinv.as<float>(), true, nullptr);
            cuda::kv_store(kvr, static_cast<int>(layer), dk2.as<float>(), dv.as<float>(), dpos.as<int32_t>(), rows, kv_dim,
                           nullptr);
            cuda::attention(kvr, static_cast<int>(layer), dq2.as<float>(), dpos.as<int32_t>(), rows, s.heads, s.kv_heads,
                            s.hd, scale, dref.as<float>(), nullptr);
            CHECK(rel_error(dout.get<float>(), dref.get<float>()) < 1e-5);
            // The stored keys and values are the reference's, bit for bit.
            for (int64_t r = 0; r < rows; ++r) {
                INFO("row " << r << " at position " << pos[static_cast<size_t>(r)]);
                const std::vector<uint8_t> a = ka[static_cast<size_t>(r)]->get<uint8_t>(), b = kb_ref[static_cast<size_t>(r)]->get<uint8_t>();
                const std::vector<uint8_t> c = va[static_cast<size_t>(r)]->get<uint8_t>(), d = vb_ref[static_cast<size_t>(r)]->get<uint8_t>();
                CHECK(a == b);
                CHECK(c == d);
            }
        }
    }
}

TEST_CASE("argmax picks the largest value, the first on ties, on one scratch for calls of different row counts") {
    // One scratch for up to 8 rows, used by calls of 1, 3, 8 and again 1
    // rows, as a backend does when single sessions and batches alternate.
    constexpr int64_t kScratchRows = 8;
    Dev scratch(cuda::argmax_scratch_bytes(kScratchRows));
    ok(cudaMemset(scratch.p, 0, scratch.bytes));
    for (int64_t n : {1, 7, 2048, 151936}) {
        for (int64_t rows : {1, 3, 8, 1}) {
            INFO("n " << n << ", rows " << rows);
            auto x = random_floats(static_cast<size_t>(rows * n));
            if (n > 10) {
                x[5] = 100.0f;  // row 0: a tie between 5 and 9
                x[9] = 100.0f;
                if (rows > 1) x[n + n - 1] = 50.0f;  // row 1: the last one
            }
            Dev dx(x.size() * 4), dout(rows * 4);
            dx.put(x.data());
            cuda::argmax_rows(dx.as<float>(), rows, n, dout.as<int32_t>(), scratch.p, kScratchRows, nullptr);
            const std::vector<int32_t> got = dout.get<int32_t>();
            for (int64_t r = 0; r < rows; ++r) {
                const auto first = x.begin() + r * n;
                CHECK(got[static_cast<size_t>(r)] == std::max_element(first, first + n) - first);
            }
        }
    }
}

TEST_CASE("fused products: grouped with bias, accumulating, and gate/up with SiLU equal the single kernels") {
    for (DType t : {DType::Q4_K, DType::Q6_K, DType::Q8_0, DType::Q4_1}) {
        for (int64_t rows : {1, 3, 7}) {
            INFO(dtype_name(t) << " rows " << rows);
            const int64_t k = 512, n0 = 33, n1 = 7;
            const auto w0 = random_weight(t, n0, k), w1 = random_weight(t, n1, k);
            const auto x = random_floats(static_cast<size_t>(rows * k));
            const auto b0 = random_floats(static_cast<size_t>(n0));
            Dev dw0(w0.size()), dw1(w1.size()), dx(x.size() * 4), db(b0.size() * 4),
                dact(cuda::activation_row_bytes(t, k) * rows), dy0(rows * n0 * 4), dy1(rows * n1 * 4), dr0(rows * n0 * 4),
                dr1(rows * n1 * 4);
            dw0.put(w0.data());
            dw1.put(w1.data());
            dx.put(x.data());
            db.put(b0.data());
            cuda::quantize_activations(t, dx.as<float>(), rows, k, dact.p, nullptr);
            // Reference: the single-weight kernel, then bias / add on the host.
            cuda::matmul_quantized(t, dw0.p, n0, k, dact.p, rows, dr0.as<float>(), nullptr);
            cuda::matmul_quantized(t, dw1.p, n1, k, dact.p, rows, dr1.as<float>(), nullptr);
            std::vector<float> r0 = dr0.get<float>(), r1 = dr1.get<float>();
            dy0.poison();
            dy1.poison();
            const cuda::MatmulJob jobs[] = {{dw0.p, n0, db.as<float>(), dy0.as<float>()}, {dw1.p, n1, nullptr, dy1.as<float>()}};
            cuda::matmul_group(t, jobs, 2, k, dact.p, rows, false, nullptr);
            std::vector<float> want0 = r0;
            for (int64_t r = 0; r < rows; ++r)
                for (int64_t o = 0; o < n0; ++o) want0[static_cast<size_t>(r * n0 + o)] += b0[static_cast<size_t>(o)];
            CHECK(dy0.get<float>() == want0);
            CHECK(dy1.get<float>() == r1);
            // Accumulate: y += product.
            const cuda::MatmulJob acc[] = {{dw1.p, n1, nullptr, dy1.as<float>()}};
            cuda::matmul_group(t, acc, 1, k, dact.p, rows, true, nullptr);
            std::vector<float> twice = r1;
            for (size_t i = 0; i < twice.size(); ++i) twice[i] += r1[i];
            CHECK(dy1.get<float>() == twice);
            // gate/up: w0 as gate, a second n0-row weight as up.
            const auto wu = random_weight(t, n0, k);
            Dev dwu(wu.size()), dru(rows * n0 * 4), dsw(rows * n0 * 4);
            dwu.put(wu.data());
            cuda::matmul_quantized(t, dwu.p, n0, k, dact.p, rows, dru.as<float>(), nullptr);
            const std::vector<float> ru = dru.get<float>();
            dsw.poison();
            cuda::matmul_swiglu(t, dw0.p, dwu.p, n0, k, dact.p, rows, dsw.as<float>(), nullptr);
            std::vector<float> sw(r0.size());
            cpu::swiglu_row(r0.data(), ru.data(), static_cast<int64_t>(r0.size()), sw.data());
            CHECK(rel_error(dsw.get<float>(), sw) < 1e-6);
        }
    }
}

namespace {

// Row t of a rows x n result.
std::vector<float> row_of(const std::vector<float>& y, int64_t n, int64_t t) {
    return {y.begin() + t * n, y.begin() + (t + 1) * n};
}

}  // namespace

TEST_CASE("matvec (streaming decode products): mixed Q4_K/Q6_K jobs, bias, accumulate, fused norm, SwiGLU, 1 to 8 rows; each row as alone, bit for bit") {
    // Shapes: short rows (two rows a unit), long rows (one), odd row counts,
    // a row count past one wave of units.
    const std::pair<int64_t, int64_t> shapes[] = {{1, 256}, {7, 512}, {33, 1536}, {130, 2304}, {67, 8960}, {4099, 1536}};
    for (auto [n, k] : shapes) {
        for (DType t : {DType::Q4_K, DType::Q6_K}) {
            for (int64_t rows : {1, 3, 8}) {
                if (rows > 1 && n == 4099) continue;
                for (bool norm : {false, true}) {
                    INFO(dtype_name(t) << " n=" << n << " k=" << k << " rows=" << rows << " norm=" << norm);
                    REQUIRE(cuda::matvec_supported(t, k, rows));
                    const DType other = t == DType::Q4_K ? DType::Q6_K : DType::Q4_K;
                    const int64_t n1 = n / 2 + 1, n2 = 5;
                    const auto w0 = random_weight(t, n, k), w1 = random_weight(other, n1, k), w2 = random_weight(t, n2, k);
                    const auto wu = random_weight(t, n, k);
                    const auto x = random_floats(static_cast<size_t>(rows * k), 2.0f), nw = random_floats(static_cast<size_t>(k));
                    const auto b0 = random_floats(static_cast<size_t>(n)), y1 = random_floats(static_cast<size_t>(rows * n1));
                    Dev dw0(w0.size()), dw1(w1.size()), dw2(w2.size()), dwu(wu.size()), dx(rows * k * 4), dnw(k * 4),
                        dxn(rows * k * 4), dxn2(rows * k * 4), db(n * 4), da(cuda::activation_row_bytes(t, k) * rows),
                        dr0(rows * n * 4), dr1(rows * n1 * 4), dr2(rows * n2 * 4), dru(rows * n * 4), dy0(rows * n * 4),
                        dy1(rows * n1 * 4), dy2(rows * n2 * 4), dsw(rows * n * 4);
                    dw0.put(w0.data());
                    dw1.put(w1.data());
                    dw2.put(w2.data());
                    dwu.put(wu.data());
                    dx.put(x.data());
                    dnw.put(nw.data());
                    db.put(b0.data());
                    // Reference: the norm, the quantizer, then the single-weight products.
                    const float* in = dx.as<float>();
                    if (norm) {
                        cuda::rmsnorm(dx.as<float>(), dnw.as<float>(), 1e-6f, rows, k, dxn2.as<float>(), nullptr);
                        in = dxn2.as<float>();
                    }
                    cuda::quantize_activations(t, in, rows, k, da.p, nullptr);
                    cuda::matmul_quantized(t, dw0.p, n, k, da.p, rows, dr0.as<float>(), nullptr);
                    cuda::matmul_quantized(other, dw1.p, n1, k, da.p, rows, dr1.as<float>(), nullptr);
                    cuda::matmul_quantized(t, dw2.p, n2, k, da.p, rows, dr2.as<float>(), nullptr);
                    cuda::matmul_quantized(t, dwu.p, n, k, da.p, rows, dru.as<float>(), nullptr);
                    std::vector<float> r0 = dr0.get<float>(), r1 = dr1.get<float>(), r2 = dr2.get<float>(), ru = dru.get<float>();
                    const std::vector<float> r1plain = r1;
                    for (int64_t r = 0; r < rows; ++r) {
                        for (int64_t o = 0; o < n; ++o) r0[static_cast<size_t>(r * n + o)] += b0[static_cast<size_t>(o)];
                        for (int64_t o = 0; o < n1; ++o) r1[static_cast<size_t>(r * n1 + o)] += y1[static_cast<size_t>(r * n1 + o)];
                    }
                    cuda::MatvecInput mi{dx.as<float>()};
                    if (norm) mi = {dx.as<float>(), dnw.as<float>(), 1e-6f, dxn.as<float>()};
                    dy0.poison();
                    dy1.put(y1.data());  // accumulated into
                    dy2.poison();
                    dxn.poison();
                    // Two jobs, the first with a bias; then a weight of the
                    // other type accumulating.
                    const cuda::MatmulJob jobs[] = {{dw0.p, n, db.as<float>(), dy0.as<float>()},
                                                    {dw2.p, n2, nullptr, dy2.as<float>()}};
                    const DType types[] = {t, t};
                    cuda::matvec(jobs, types, 2, k, rows, mi, false, nullptr);
                    const cuda::MatmulJob acc[] = {{dw1.p, n1, nullptr, dy1.as<float>()}};
                    cuda::matvec(acc, &other, 1, k, rows, mi, true, nullptr);
                    const std::vector<float> got0 = dy0.get<float>();
                    CHECK(rel_error(got0, r0) < 1e-5);
                    CHECK(rel_error(dy1.get<float>(), r1) < 1e-5);
                    CHECK(rel_error(dy2.get<float>(), r2) < 1e-5);
                    if (norm) CHECK(dxn.get<float>() == dxn2.get<float>());
                    if (!norm) {
                        // x handed over already quantized (the backend's way for long rows): the same bits.
                        Dev dq0(rows * n * 4), dq2(rows * n2 * 4);
                        dq0.poison();
                        dq2.poison();
                        cuda::MatvecInput pre{dx.as<float>()};
                        pre.xq = da.p;
                        const cuda::MatmulJob qjobs[] = {{dw0.p, n, db.as<float>(), dq0.as<float>()},
                                                         {dw2.p, n2, nullptr, dq2.as<float>()}};
                        cuda::matvec(qjobs, types, 2, k, rows, pre, false, nullptr);
                        CHECK(dq0.get<float>() == got0);
                        CHECK(dq2.get<float>() == dy2.get<float>());
                    }
                    // Mixed types in one launch: other's job first (the host reorders).
                    Dev dm0(rows * n * 4), dm1(rows * n1 * 4);
                    dm0.poison();
                    dm1.poison();
                    const cuda::MatmulJob mixed[] = {{dw1.p, n1, nullptr, dm1.as<float>()},
                                                     {dw0.p, n, db.as<float>(), dm0.as<float>()}};
                    const DType mtypes[] = {other, t};
                    cuda::matvec(mixed, mtypes, 2, k, rows, mi, false, nullptr);
                    CHECK(dm0.get<float>() == got0);
                    CHECK(rel_error(dm1.get<float>(), r1plain) < 1e-5);
                    // gate/up with SiLU.
                    dsw.poison();
                    cuda::matvec_swiglu(t, dw0.p, dwu.p, n, k, rows, mi, dsw.as<float>(), nullptr);
                    const std::vector<float> g = dr0.get<float>(), gotsw = dsw.get<float>();
                    std::vector<float> sw(g.size());
                    cpu::swiglu_row(g.data(), ru.data(), static_cast<int64_t>(g.size()), sw.data());
                    CHECK(rel_error(gotsw, sw) < 1e-5);
                    // Each row alone gives the same bits as in the batch.
                    if (rows > 1) {
                        for (int64_t r : {int64_t{0}, rows - 1}) {
                            Dev d1(n * 4), ds1(n * 4);
                            d1.poison();
                            ds1.poison();
                            cuda::MatvecInput one{dx.as<float>() + r * k};
                            if (norm) one = {dx.as<float>() + r * k, dnw.as<float>(), 1e-6f, nullptr};
                            const cuda::MatmulJob j1[] = {{dw0.p, n, db.as<float>(), d1.as<float>()}};
                            cuda::matvec(j1, &t, 1, k, 1, one, false, nullptr);
                            cuda::matvec_swiglu(t, dw0.p, dwu.p, n, k, 1, one, ds1.as<float>(), nullptr);
                            CHECK(d1.get<float>() == row_of(got0, n, r));
                            CHECK(ds1.get<float>() == row_of(gotsw, n, r));
                        }
                    }
                }
            }
        }
    }
}

TEST_CASE("matvec_qkv (QKV with rope and cache store in the epilogue) equals matvec + rope_qk + kv_store") {
    struct Shape { int64_t heads, kv_heads, hd, k; };
    for (Shape s : {Shape{12, 2, 128, 1536}, Shape{4, 2, 64, 512}}) {
        for (bool f16 : {false, true}) {
            for (bool neox : {true, false}) {
                for (DType vt : {DType::Q4_K, DType::Q6_K}) {
                    const int64_t layers = 2, cap = 64, kv_dim = s.kv_heads * s.hd, q_dim = s.heads * s.hd, layer = 1;
                    const std::vector<int32_t> pos = {5, 0, 63};
                    const int64_t rows = static_cast<int64_t>(pos.size());
                    INFO("hd " << s.hd << (f16 ? " f16" : " f32") << (neox ? " neox" : " pairs") << " v " << dtype_name(vt));
                    const size_t esz = f16 ? 2 : 4, cache_bytes = static_cast<size_t>(layers * cap * kv_dim) * esz;
                    const auto wq = random_weight(DType::Q4_K, q_dim, s.k), wk = random_weight(DType::Q4_K, kv_dim, s.k),
                               wv = random_weight(vt, kv_dim, s.k);
                    const auto bq = random_floats(static_cast<size_t>(q_dim)), bk = random_floats(static_cast<size_t>(kv_dim)),
                               bv = random_floats(static_cast<size_t>(kv_dim));
                    const auto x = random_floats(static_cast<size_t>(rows * s.k), 2.0f);
                    std::vector<float> inv(static_cast<size_t>(s.hd / 2));
                    for (int64_t i = 0; i < s.hd / 2; ++i)
                        inv[static_cast<size_t>(i)] = 1.0f / std::pow(1e6f, static_cast<float>(2 * i) / static_cast<float>(s.hd));
                    Dev dwq(wq.size()), dwk(wk.size()), dwv(wv.size()), dbq(q_dim * 4), dbk(kv_dim * 4), dbv(kv_dim * 4),
                        dx(x.size() * 4), dinv(inv.size() * 4), dpos(rows * 4), dcap(rows * 4), dq(rows * q_dim * 4),
                        dk(rows * kv_dim * 4), dv(rows * kv_dim * 4), dq2(rows * q_dim * 4), dk2(rows * kv_dim * 4),
                        dv2(rows * kv_dim * 4), dkb(rows * sizeof(void*)), dvb(rows * sizeof(void*)),
                        dkb2(rows * sizeof(void*)), dvb2(rows * sizeof(void*));
                    std::vector<std::unique_ptr<Dev>> caches;
                    std::vector<void*> kb, vb, kb2, vb2;
                    for (int64_t r = 0; r < rows; ++r)
                        for (auto* list : {&kb, &vb, &kb2, &vb2}) {
                            caches.push_back(std::make_unique<Dev>(cache_bytes));
                            ok(cudaMemset(caches.back()->p, 0x11, cache_bytes));
                            list->push_back(caches.back()->p);
                        }
                    dwq.put(wq.data());
                    dwk.put(wk.data());
                    dwv.put(wv.data());
                    dbq.put(bq.data());
                    dbk.put(bk.data());
                    dbv.put(bv.data());
                    dx.put(x.data());
                    dinv.put(inv.data());
                    dpos.put(pos.data());
                    const std::vector<int32_t> caps(static_cast<size_t>(rows), static_cast<int32_t>(cap));
                    dcap.put(caps.data());
                    dkb.put(kb.data());
                    dvb.put(vb.data());
                    dkb2.put(kb2.data());
                    dvb2.put(vb2.data());
                    const cuda::KVRows kv{dkb.as<void*>(), dvb.as<void*>(), dcap.as<int32_t>(), f16};
                    const cuda::KVRows kv2{dkb2.as<void*>(), dvb2.as<void*>(), dcap.as<int32_t>(), f16};
                    const DType types[] = {DType::Q4_K, DType::Q4_K, vt};
                    const cuda::MatvecInput in{dx.as<float>()};
                    // Reference: the plain products, rope_qk, kv_store.
                    const cuda::MatmulJob ref[] = {{dwq.p, q_dim, dbq.as<float>(), dq2.as<float>()},
                                                   {dwk.p, kv_dim, dbk.as<float>(), dk2.as<float>()},
                                                   {dwv.p, kv_dim, dbv.as<float>(), dv2.as<float>()}};
                    cuda::matvec(ref, types, 3, s.k, rows, in, false, nullptr);
                    cuda::rope_qk(dq2.as<float>(), dk2.as<float>(), dpos.as<int32_t>(), rows, s.heads, s.kv_heads, s.hd,
                                  dinv.as<float>(), neox, nullptr);
                    cuda::kv_store(kv2, static_cast<int>(layer), dk2.as<float>(), dv2.as<float>(), dpos.as<int32_t>(), rows,
                                   kv_dim, nullptr);
                    REQUIRE(cuda::matvec_qkv_supported(DType::Q4_K, DType::Q4_K, vt, s.k, rows, s.hd));
                    dq.poison();
                    dk.poison();
                    dv.poison();
                    const cuda::MatmulJob qkv[] = {{dwq.p, q_dim, dbq.as<float>(), dq.as<float>()},
                                                   {dwk.p, kv_dim, dbk.as<float>(), dk.as<float>()},
                                                   {dwv.p, kv_dim, dbv.as<float>(), dv.as<float>()}};
                    cuda::matvec_qkv(qkv, types, s.k, rows, in,
                                     {dpos.as<int32_t>(), dinv.as<float>(), s.hd, neox, kv, static_cast<int>(layer)}, nullptr);
                    CHECK(rel_error(dq.get<float>(), dq2.get<float>()) < 1e-5);
                    CHECK(rel_error(dk.get<float>(), dk2.get<float>()) < 1e-5);
                    CHECK(rel_error(dv.get<float>(), dv2.get<float>()) < 1e-5);
                    // The caches: the same everywhere (untouched bytes too), the
                    // stored values within f16 (or f32) rounding of slightly
                    // different sums.
                    for (size_t c = 0; c < caches.size(); c += 4) {
                        for (size_t which : {size_t{0}, size_t{1}}) {
                            const auto a = caches[c + which]->get<uint8_t>(), b = caches[c + 2 + which]->get<uint8_t>();
                            std::vector<float> fa(a.size() / esz), fb(b.size() / esz);
                            for (size_t i = 0; i < fa.size(); ++i) {
                                if (f16) {
                                    uint16_t ha, hb;
                                    std::memcpy(&ha, a.data() + 2 * i, 2);
                                    std::memcpy(&hb, b.data() + 2 * i, 2);
                                    fa[i] = f16_to_f32(ha);
                                    fb[i] = f16_to_f32(hb);
                                } else {
                                    std::memcpy(&fa[i], a.data() + 4 * i, 4);
                                    std::memcpy(&fb[i], b.data() + 4 * i, 4);
                                }
                            }
                            CHECK(rel_error(fa, fb) < (f16 ? 2e-3 : 1e-5));
                        }
                    }
                }
            }
        }
    }
}

TEST_CASE("rmsnorm + quantize in one kernel equals rmsnorm then quantize, byte for byte") {
    for (DType t : {DType::Q4_K, DType::Q8_0, DType::Q4_1}) {
        for (int64_t cols : {256, 1536, 2304}) {
            INFO(dtype_name(t) << " cols " << cols);
            const int64_t rows = 3;
            const auto x = random_floats(static_cast<size_t>(rows * cols), 2.0f), w = random_floats(static_cast<size_t>(cols));
            const size_t ab = cuda::activation_row_bytes(t, cols) * rows;
            Dev dx(x.size() * 4), dw(w.size() * 4), dy(x.size() * 4), dy2(x.size() * 4), da(ab), da2(ab);
            dx.put(x.data());
            dw.put(w.data());
            dy.poison();
            da.poison();
            cuda::rmsnorm(dx.as<float>(), dw.as<float>(), 1e-6f, rows, cols, dy2.as<float>(), nullptr);
            cuda::quantize_activations(t, dy2.as<float>(), rows, cols, da2.p, nullptr);
            cuda::rmsnorm_quantize(dx.as<float>(), dw.as<float>(), 1e-6f, rows, cols, dy.as<float>(), t, da.p, nullptr);
            CHECK(dy.get<float>() == dy2.get<float>());
            const auto a = da.get<std::byte>(), b = da2.get<std::byte>();
            CHECK(std::memcmp(a.data(), b.data(), a.size()) == 0);
        }
    }
}

TEST_CASE("rope of q and k in one launch equals two rope launches") {
    const int64_t rows = 3, heads = 12, kv_heads = 2, hd = 128;
    const std::vector<int32_t> pos = {0, 77, 1000};
    const auto q = random_floats(static_cast<size_t>(rows * heads * hd)), k = random_floats(static_cast<size_t>(rows * kv_heads * hd));
    std::vector<float> inv(hd / 2);
    for (int64_t i = 0; i < hd / 2; ++i) inv[static_cast<size_t>(i)] = 1.0f / std::pow(1e6f, static_cast<float>(2 * i) / hd);
    Dev dq(q.size() * 4), dk(k.size() * 4), dq2(q.size() * 4), dk2(k.size() * 4), dp(pos.size() * 4), di(inv.size() * 4);
    dq.put(q.data());
    dk.put(k.data());
    dq2.put(q.data());
    dk2.put(k.data());
    dp.put(pos.data());
    di.put(inv.data());
    cuda::rope(dq2.as<float>(), dp.as<int32_t>(), rows, heads, hd, di.as<float>(), true, nullptr);
    cuda::rope(dk2.as<float>(), dp.as<int32_t>(), rows, kv_heads, hd, di.as<float>(), true, nullptr);
    cuda::rope_qk(dq.as<float>(), dk.as<float>(), dp.as<int32_t>(), rows, heads, kv_heads, hd, di.as<float>(), true, nullptr);
    CHECK(dq.get<float>() == dq2.get<float>());
    CHECK(dk.get<float>() == dk2.get<float>());
}

TEST_CASE("gemm_f16 (the backend's own tensor-core product) matches a double-precision product of the f16 inputs") {
    // {rows, n, k}: both tile heights (64 for small grids, 128), edges that
    // cut tiles, strides wider than k, and accumulation into Y.
    struct Shape { int64_t rows, n, k, ldx, ldw; bool accumulate; };
    for (const Shape& s : {Shape{77, 333, 96, 96, 104, false}, Shape{520, 4200, 64, 64, 64, false},
                           Shape{130, 130, 32, 40, 32, true}, Shape{600, 4100, 96, 96, 96, true}}) {
        INFO("rows " << s.rows << " n " << s.n << " k " << s.k << (s.accumulate ? ", accumulating" : ""));
        REQUIRE(cuda::gemm_f16_supported(s.k, s.ldx, s.ldw));
        std::vector<uint16_t> x(static_cast<size_t>(s.rows * s.ldx)), w(static_cast<size_t>(s.n * s.ldw));
        for (uint16_t& v : x) v = f32_to_f16(random_floats(1)[0]);
        for (uint16_t& v : w) v = f32_to_f16(random_floats(1)[0]);
        const std::vector<float> y0 = random_floats(static_cast<size_t>(s.rows * s.n));
        Dev dx(x.size() * 2), dw(w.size() * 2), dy(y0.size() * 4);
        dx.put(x.data());
        dw.put(w.data());
        if (s.accumulate) dy.put(y0.data());
        else dy.poison();
        cuda::gemm_f16(dx.as<uint16_t>(), s.ldx, dw.as<uint16_t>(), s.ldw, s.rows, s.n, s.k, dy.as<float>(), s.n,
                       s.accumulate, nullptr);
        const std::vector<float> got = dy.get<float>();
        double worst = 0;
        for (int64_t r = 0; r < s.rows; ++r)
            for (int64_t o = 0; o < s.n; ++o) {
                double want = s.accumulate ? y0[static_cast<size_t>(r * s.n + o)] : 0.0, mag = std::abs(want);
                for (int64_t i = 0; i < s.k; ++i) {
                    const double p = static_cast<double>(f16_to_f32(x[static_cast<size_t>(r * s.ldx + i)])) *
                                     f16_to_f32(w[static_cast<size_t>(o * s.ldw + i)]);
                    want += p;
                    mag += std::abs(p);
                }
                const double g = got[static_cast<size_t>(r * s.n + o)];
                worst = std::max(worst, std::isfinite(g) ? std::abs(g - want) / (mag + 1e-6) : 1e9);
            }
        INFO("worst |error| / sum of |terms| " << worst);
        CHECK(worst < 1e-5);  // f32 sums of exact f16 products
    }
}

TEST_CASE("mmq (int8 tensor-core decode-batch products): Q4_K/Q6_K jobs, bias, accumulate, SwiGLU, 1 to 70 rows, k split; match matmul_quantized, each row as alone, bit for bit") {
    // Shapes: one super-block a row (odd row counts put Q6_K's last block at
    // the tensor's end), several, a tile's worth of rows and more.
    const std::pair<int64_t, int64_t> shapes[] = {{33, 256}, {70, 512}, {130, 1536}, {67, 2304}};
    for (DType t : {DType::Q4_K, DType::Q6_K}) {
        for (auto [n, k] : shapes) {
            REQUIRE(cuda::mmq_supported(t, k, n));
            const int64_t n1 = 7;
            const auto w0 = random_weight(t, n, k), w1 = random_weight(t, n1, k), wu = random_weight(t, n, k);
            const auto b0 = random_floats(static_cast<size_t>(n));
            Dev dw0(w0.size()), dw1(w1.size()), dwu(wu.size()), db(b0.size() * 4);
            dw0.put(w0.data());
            dw1.put(w1.data());
            dwu.put(wu.data());
            db.put(b0.data());
            for (int64_t rows : {1, 5, 9, 16, 17, 33, 64, 70}) {
                INFO(dtype_name(t) << " n=" << n << " k=" << k << " rows=" << rows);
                const auto x = random_floats(static_cast<size_t>(rows * k));
                Dev dx(x.size() * 4), dact(cuda::activation_row_bytes(t, k) * rows), dr0(rows * n * 4), dr1(rows * n1 * 4),
                    dru(rows * n * 4), dy0(rows * n * 4), dy1(rows * n1 * 4), dsw(rows * n * 4);
                dx.put(x.data());
                cuda::quantize_activations(t, dx.as<float>(), rows, k, dact.p, nullptr);
                cuda::matmul_quantized(t, dw0.p, n, k, dact.p, rows, dr0.as<float>(), nullptr);
                cuda::matmul_quantized(t, dw1.p, n1, k, dact.p, rows, dr1.as<float>(), nullptr);
                cuda::matmul_quantized(t, dwu.p, n, k, dact.p, rows, dru.as<float>(), nullptr);
                const std::vector<float> r0 = dr0.get<float>(), r1 = dr1.get<float>(), ru = dru.get<float>();
                std::vector<float> want0 = r0;
                for (int64_t r = 0; r < rows; ++r)
                    for (int64_t o = 0; o < n; ++o) want0[static_cast<size_t>(r * n + o)] += b0[static_cast<size_t>(o)];
                dy0.poison();
                dy1.poison();
                const cuda::MatmulJob jobs[] = {{dw0.p, n, db.as<float>(), dy0.as<float>()}, {dw1.p, n1, nullptr, dy1.as<float>()}};
                // Split products (k in parts added by the tile's last
                // block) where the weight has few row tiles: every call
                // below needs at most this launch's scratch.
                Dev scratch(cuda::mmq_scratch_bytes(jobs, 2, k, rows));
                scratch.zero();
                if (k / 256 > 1 && n >= 64) CHECK(scratch.bytes > 0);
                cuda::mmq(t, jobs, 2, k, dact.p, rows, false, nullptr, scratch.p, scratch.bytes);
                const std::vector<float> y0 = dy0.get<float>(), y1 = dy1.get<float>();
                CHECK(rel_error(y0, want0) < 2e-5);
                CHECK(rel_error(y1, r1) < 2e-5);
                // Accumulate: y += product, the same sum added.
                const cuda::MatmulJob acc[] = {{dw1.p, n1, nullptr, dy1.as<float>()}};
                cuda::mmq(t, acc, 1, k, dact.p, rows, true, nullptr, scratch.p, scratch.bytes);
                const std::vector<float> twice = dy1.get<float>();
                bool doubled = true;
                for (size_t i = 0; i < twice.size(); ++i) doubled = doubled && twice[i] == y1[i] + y1[i];
                CHECK(doubled);
                // SwiGLU against the reference products.
                dsw.poison();
                cuda::mmq_swiglu(t, dw0.p, dwu.p, n, k, dact.p, rows, dsw.as<float>(), nullptr);
                std::vector<float> sw(r0.size());
                cpu::swiglu_row(r0.data(), ru.data(), static_cast<int64_t>(r0.size()), sw.data());
                const std::vector<float> got_sw = dsw.get<float>();
                CHECK(rel_error(got_sw, sw) < 1e-5);
                // Each row alone (another tile shape, other neighbours): bit for bit.
                const size_t arow = cuda::activation_row_bytes(t, k);
                for (int64_t r : {int64_t{0}, rows / 2, rows - 1}) {
                    Dev d1(n * 4), s1(n * 4);
                    d1.poison();
                    s1.poison();
                    const auto* one_act = static_cast<const std::byte*>(dact.p) + static_cast<size_t>(r) * arow;
                    const cuda::MatmulJob j1[] = {{dw0.p, n, db.as<float>(), d1.as<float>()}};
                    cuda::mmq(t, j1, 1, k, one_act, 1, false, nullptr, scratch.p, scratch.bytes);
                    cuda::mmq_swiglu(t, dw0.p, dwu.p, n, k, one_act, 1, s1.as<float>(), nullptr);
                    INFO("row " << r);
                    CHECK(d1.get<float>() == row_of(y0, n, r));
                    CHECK(s1.get<float>() == row_of(got_sw, n, r));
                }
            }
        }
    }
}
