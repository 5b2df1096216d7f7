// Q8_0, Q8_1 and Q8_K must produce llama.cpp's bytes exactly. The inputs are
// chosen to hit the places where a plausible alternative gives other bytes
// (round half away from zero vs to even, 1/d vs 127/amax, which extreme
// defines the sign of a Q8_K scale, the all-zero block); the expected bytes
// were worked out from llama.cpp's quantize_row_q8_{0,1,K}_ref semantics by
// hand and with an independent float32 emulation.
#include <catch2/catch.hpp>

#include <bit>
#include <cstring>
#include <vector>

#include "quant/blocks.hpp"
#include "quant/quantize.hpp"

using apr::DType;
using apr::quant::quantize_row;

namespace {

template <typename Block>
Block quantize_one(DType type, const std::vector<float>& x) {
    Block block;
    std::memset(&block, 0xEE, sizeof(block));  // every byte must be written
    REQUIRE(quantize_row(type, x.data(), &block, static_cast<int64_t>(x.size())) == sizeof(Block));
    return block;
}

std::vector<float> padded(std::vector<float> head, size_t n) {
    head.resize(n, 0.0f);
    return head;
}

void check_qs(const int8_t* qs, const std::vector<int>& expected_head, int n) {
    for (int j = 0; j < n; ++j) {
        INFO("value " << j);
        CHECK(qs[j] == (j < static_cast<int>(expected_head.size()) ? expected_head[j] : 0));
    }
}

}  // namespace

TEST_CASE("Q8_0 rounds half away from zero with d = amax/127 (negative extreme)", "[quant][q8]") {
    // amax = 127 makes d = 1 and 1/d = 1 exact, so x * id is x itself.
    const auto x = padded({-127.0f, 2.5f, -2.5f, 0.5f, -0.5f, 1.5f, 126.5f, -126.49f}, 32);
    const auto block = quantize_one<apr::quant::BlockQ8_0>(DType::Q8_0, x);
    CHECK(block.d == 0x3C00);
    check_qs(block.qs, {-127, 3, -3, 1, -1, 2, 127, -126}, 32);
}

TEST_CASE("Q8_0 multiplies by 1/d, not by 127/amax", "[quant][q8]") {
    // amax = 1.005f: d = 0.0079133855f (f16 0x200d), 1/d = 126.368164f while
    // 127/amax = 126.368156f. For x = 0x3ca210ee, x/d lands exactly on 2.5
    // (rounds to 3) but x*127/amax is 2.4999998 (would round to 2).
    const float amax = std::bit_cast<float>(0x3f80a3d7u);
    const float x1 = std::bit_cast<float>(0x3ca210eeu);
    const auto x = padded({amax, x1, -x1, 0.5f}, 32);
    const auto block = quantize_one<apr::quant::BlockQ8_0>(DType::Q8_0, x);
    CHECK(block.d == 0x200d);
    check_qs(block.qs, {127, 3, -3, 63}, 32);
}

TEST_CASE("Q8_1 matches Q8_0's quants and stores s = f16(d * sum q) with the f32 d", "[quant][q8]") {
    const float amax = std::bit_cast<float>(0x3f80a3d7u);
    const float x1 = std::bit_cast<float>(0x3ca210eeu);
    const auto a = quantize_one<apr::quant::BlockQ8_1>(DType::Q8_1, padded({amax, x1, -x1, 0.5f}, 32));
    CHECK(a.d == 0x200d);
    CHECK(a.s == 0x3e04);  // f16(190 * 0.0079133855f) = f16(1.5035433)
    check_qs(a.qs, {127, 3, -3, 63}, 32);

    const auto b = quantize_one<apr::quant::BlockQ8_1>(
        DType::Q8_1, padded({-127.0f, 2.5f, -2.5f, 0.5f, -0.5f, 1.5f, 126.5f, -126.49f}, 32));
    CHECK(b.d == 0x3C00);
    CHECK(b.s == 0xD7C0);  // sum = -124
    check_qs(b.qs, {-127, 3, -3, 1, -1, 2, 127, -126}, 32);
}

TEST_CASE("Q8_0 and Q8_1 of an all-zero block", "[quant][q8]") {
    const std::vector<float> zeros(64, 0.0f);
    apr::quant::BlockQ8_1 blocks[2];
    std::memset(blocks, 0xEE, sizeof(blocks));
    REQUIRE(quantize_row(DType::Q8_1, zeros.data(), blocks, 64) == 72);
    for (const auto& b : blocks) {
        CHECK(b.d == 0);
        CHECK(b.s == 0);
        check_qs(b.qs, {}, 32);
    }
    const auto q80 = quantize_one<apr::quant::BlockQ8_0>(DType::Q8_0, std::vector<float>(32, 0.0f));
    CHECK(q80.d == 0);
    check_qs(q80.qs, {}, 32);
}

TEST_CASE("Q8_K: iscale = -127/max with max's sign, round half to even, bsums", "[quant][q8]") {
    // max = 127 (positive): iscale = -1, d = -1, every q is -x rounded half to even.
    const auto x = padded({127.0f, 2.5f, 3.5f, -0.5f, -1.5f, -126.5f}, 256);
    const auto block = quantize_one<apr::quant::BlockQ8_K>(DType::Q8_K, x);
    CHECK(block.d == -1.0f);
    check_qs(block.qs, {-127, -2, -4, 0, 2, 126}, 256);
    CHECK(block.bsums[0] == -5);
    for (int g = 1; g < 16; ++g) CHECK(block.bsums[g] == 0);
}

TEST_CASE("Q8_K: the first value of largest magnitude sets the sign", "[quant][q8]") {
    // 5 comes before -5, so max = 5: iscale = -25.4f, d = 1/iscale = 0xbd214285.
    std::vector<float> x(256, 0.0f);
    x[0] = 5.0f;
    x[1] = -5.0f;
    x[2] = 1.0f;    // -25.4 -> -25
    x[3] = 2.5f;    // -63.5 -> -64 (half to even)
    x[4] = -0.3f;   // 7.62 -> 8
    x[5] = 0.1f;    // -2.54 -> -3
    x[16] = -3.0f;  // 76.2 -> 76
    x[17] = 4.99f;  // -126.746 -> -127
    const auto a = quantize_one<apr::quant::BlockQ8_K>(DType::Q8_K, x);
    CHECK(std::bit_cast<uint32_t>(a.d) == 0xbd214285u);
    std::vector<int> head = {-127, 127, -25, -64, 8, -3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 76, -127};
    check_qs(a.qs, head, 256);
    CHECK(a.bsums[0] == -84);
    CHECK(a.bsums[1] == -51);
    for (int g = 2; g < 16; ++g) CHECK(a.bsums[g] == 0);

    // Swapping the two extremes flips every sign, d included.
    std::swap(x[0], x[1]);
    for (size_t j = 2; j < x.size(); ++j) x[j] = -x[j];
    const auto b = quantize_one<apr::quant::BlockQ8_K>(DType::Q8_K, x);
    CHECK(std::bit_cast<uint32_t>(b.d) == 0x3d214285u);
    for (int j = 0; j < 256; ++j) CHECK(b.qs[j] == a.qs[j]);
}

TEST_CASE("Q8_K of an all-zero block is all zero bytes", "[quant][q8]") {
    std::vector<float> x(512, 0.0f);
    x[300] = -0.0f;  // -0 counts as zero
    apr::quant::BlockQ8_K blocks[2];
    std::memset(blocks, 0xEE, sizeof(blocks));
    REQUIRE(quantize_row(DType::Q8_K, x.data(), blocks, 512) == 2 * sizeof(apr::quant::BlockQ8_K));
    const auto* bytes = reinterpret_cast<const unsigned char*>(blocks);
    for (size_t i = 0; i < sizeof(blocks); ++i) {
        INFO("byte " << i);
        CHECK(bytes[i] == 0);
    }
}

TEST_CASE("Q8_K blocks of a row are independent", "[quant][q8]") {
    std::vector<float> x(512, 0.0f);
    x[0] = 127.0f;     // block 0: d = -1
    x[256] = -254.0f;  // block 1: max = -254, iscale = 0.5, d = 2
    x[257] = 3.0f;     // 1.5 -> 2
    x[258] = 5.0f;     // 2.5 -> 2
    apr::quant::BlockQ8_K blocks[2];
    quantize_row(DType::Q8_K, x.data(), blocks, 512);
    CHECK(blocks[0].d == -1.0f);
    CHECK(blocks[0].qs[0] == -127);
    CHECK(blocks[1].d == 2.0f);
    CHECK(blocks[1].qs[0] == -127);
    CHECK(blocks[1].qs[1] == 2);
    CHECK(blocks[1].qs[2] == 2);
    CHECK(blocks[1].bsums[0] == -123);
}
