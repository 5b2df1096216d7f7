// Dequantization of hand-built blocks: every byte is written here from the
// format's layout, and the expected floats are worked out by hand (spot
// values as literals) or from the format's formula written independently of
// the library's loops.
#include <catch2/catch.hpp>

#include <array>
#include <cstring>
#include <vector>

#include "apr/error.hpp"
#include "quant/blocks.hpp"
#include "quant/dequantize.hpp"

using apr::DType;
using apr::quant::dequantize_row;

namespace {

template <typename Block>
std::vector<float> dequantize_block(DType type, const Block& block, int n) {
    std::vector<float> out(static_cast<size_t>(n), -999.0f);
    dequantize_row(type, &block, out.data(), n);
    return out;
}

}  // namespace

TEST_CASE("F16 and BF16 values decode exactly", "[quant][dequantize]") {
    const std::array<uint16_t, 6> f16 = {0x3C00, 0xC000, 0x7BFF, 0x0001, 0x8000, 0x3555};
    std::array<float, 6> out{};
    dequantize_row(DType::F16, f16.data(), out.data(), 6);
    CHECK(out[0] == 1.0f);
    CHECK(out[1] == -2.0f);
    CHECK(out[2] == 65504.0f);
    CHECK(out[3] == 0x1p-24f);  // smallest subnormal
    CHECK(out[4] == 0.0f);
    CHECK(std::signbit(out[4]));
    CHECK(out[5] == 0x1.554p-2f);

    const std::array<uint16_t, 4> bf16 = {0x3F80, 0x4049, 0xC2F7, 0x0001};
    dequantize_row(DType::BF16, bf16.data(), out.data(), 4);
    CHECK(out[0] == 1.0f);
    CHECK(out[1] == 3.140625f);
    CHECK(out[2] == -123.5f);
    CHECK(out[3] == 0x1p-133f);

    const std::array<float, 3> f32 = {1.5f, -0.0f, 3e38f};
    dequantize_row(DType::F32, f32.data(), out.data(), 3);
    CHECK(out[0] == 1.5f);
    CHECK(out[2] == 3e38f);
}

TEST_CASE("Q4_0: low nibbles are values 0..15, high nibbles 16..31, x = d (q - 8)", "[quant][dequantize]") {
    apr::quant::BlockQ4_0 block{};
    block.d = 0x3800;  // 0.5
    for (int j = 0; j < 16; ++j) block.qs[j] = static_cast<uint8_t>(j | (15 - j) << 4);
    const auto y = dequantize_block(DType::Q4_0, block, 32);
    CHECK(y[0] == -4.0f);
    CHECK(y[8] == 0.0f);
    CHECK(y[15] == 3.5f);
    CHECK(y[16] == 3.5f);
    CHECK(y[31] == -4.0f);
    for (int j = 0; j < 16; ++j) {
        CHECK(y[j] == 0.5f * static_cast<float>(j - 8));
        CHECK(y[16 + j] == 0.5f * static_cast<float>(7 - j));
    }
}

TEST_CASE("Q4_1: x = d q + m", "[quant][dequantize]") {
    apr::quant::BlockQ4_1 block{};
    block.d = 0x3400;  // 0.25
    block.m = 0xBC00;  // -1
    for (int j = 0; j < 16; ++j) block.qs[j] = static_cast<uint8_t>(j | (15 - j) << 4);
    const auto y = dequantize_block(DType::Q4_1, block, 32);
    CHECK(y[0] == -1.0f);
    CHECK(y[15] == 2.75f);
    CHECK(y[16] == 2.75f);
    CHECK(y[31] == -1.0f);
    for (int j = 0; j < 16; ++j) CHECK(y[j] == 0.25f * static_cast<float>(j) - 1.0f);
}

TEST_CASE("Q5_0 and Q5_1: bit j of the little-endian qh is the fifth bit of value j", "[quant][dequantize]") {
    // qh = 0xFF008001: bits 0, 15 and 24..31 are set.
    const uint8_t qh[4] = {0x01, 0x80, 0x00, 0xFF};
    std::array<float, 32> expected_q{};  // q before the offset
    for (int j = 0; j < 16; ++j) {
        expected_q[j] = static_cast<float>(j);
        expected_q[16 + j] = static_cast<float>(15 - j);
    }
    expected_q[0] += 16;
    expected_q[15] += 16;
    for (int j = 24; j < 32; ++j) expected_q[j] += 16;

    apr::quant::BlockQ5_0 b0{};
    b0.d = 0x3C00;  // 1
    std::memcpy(b0.qh, qh, 4);
    for (int j = 0; j < 16; ++j) b0.qs[j] = static_cast<uint8_t>(j | (15 - j) << 4);
    const auto y0 = dequantize_block(DType::Q5_0, b0, 32);
    CHECK(y0[0] == 0.0f);     // 0 + 16 - 16
    CHECK(y0[1] == -15.0f);   // 1 - 16
    CHECK(y0[15] == 15.0f);   // 15 + 16 - 16
    CHECK(y0[16] == -1.0f);   // 15 - 16
    CHECK(y0[24] == 7.0f);    // 7 + 16 - 16
    CHECK(y0[31] == 0.0f);    // 0 + 16 - 16
    for (int j = 0; j < 32; ++j) CHECK(y0[j] == expected_q[j] - 16.0f);

    apr::quant::BlockQ5_1 b1{};
    b1.d = 0x3800;  // 0.5
    b1.m = 0x4000;  // 2
    std::memcpy(b1.qh, qh, 4);
    std::memcpy(b1.qs, b0.qs, 16);
    const auto y1 = dequantize_block(DType::Q5_1, b1, 32);
    CHECK(y1[0] == 10.0f);  // 16 * 0.5 + 2
    CHECK(y1[1] == 2.5f);
    for (int j = 0; j < 32; ++j) CHECK(y1[j] == expected_q[j] * 0.5f + 2.0f);
}

TEST_CASE("Q8_0, Q8_1 and Q8_K: x = d q", "[quant][dequantize]") {
    apr::quant::BlockQ8_0 b0{};
    b0.d = 0x3000;  // 0.125
    for (int j = 0; j < 32; ++j) b0.qs[j] = static_cast<int8_t>(j - 16);
    b0.qs[0] = -128;
    b0.qs[31] = 127;
    const auto y0 = dequantize_block(DType::Q8_0, b0, 32);
    CHECK(y0[0] == -16.0f);
    CHECK(y0[1] == -1.875f);
    CHECK(y0[16] == 0.0f);
    CHECK(y0[31] == 15.875f);

    apr::quant::BlockQ8_1 b1{};
    b1.d = 0x4000;  // 2
    b1.s = 0x7C00;  // s plays no part in the values
    for (int j = 0; j < 32; ++j) b1.qs[j] = static_cast<int8_t>(3 * j - 50);
    const auto y1 = dequantize_block(DType::Q8_1, b1, 32);
    for (int j = 0; j < 32; ++j) CHECK(y1[j] == 2.0f * static_cast<float>(3 * j - 50));

    apr::quant::BlockQ8_K bk{};
    bk.d = -0.5f;
    for (int j = 0; j < 256; ++j) bk.qs[j] = static_cast<int8_t>(j - 128);
    const auto yk = dequantize_block(DType::Q8_K, bk, 256);
    CHECK(yk[0] == 64.0f);
    CHECK(yk[255] == -63.5f);
    for (int j = 0; j < 256; ++j) CHECK(yk[j] == -0.5f * static_cast<float>(j - 128));
}

namespace {

// Scales {1,2,3,4,33,45,63,17} and mins {0,5,10,63,20,31,32,1}, packed by hand:
// bytes 0..3 = scale j | (scale j+4 >> 4) << 6, bytes 4..7 the same for mins,
// bytes 8..11 = (scale j+4 & 15) | (min j+4 & 15) << 4.
constexpr uint8_t kPackedScales[12] = {0x81, 0x82, 0xC3, 0x44, 0x40, 0x45, 0x8A, 0x3F, 0x41, 0xFD, 0x0F, 0x11};
constexpr int kScale[8] = {1, 2, 3, 4, 33, 45, 63, 17};
constexpr int kMin[8] = {0, 5, 10, 63, 20, 31, 32, 1};

// qs[i] = (i % 16) | (15 - i % 16) << 4: the 4-bit level of value v, whose
// sub-block s = v / 32 is stored in the low nibbles of qs[32 (s/2) ..] when s
// is even and in the high nibbles when s is odd.
int k_nibble(int v) {
    const int l = v % 32;
    return (v / 32) % 2 == 0 ? l % 16 : 15 - l % 16;
}

}  // namespace

TEST_CASE("Q4_K: 6-bit packed scales and mins, nibble pairs per 64 values", "[quant][dequantize]") {
    apr::quant::BlockQ4_K block{};
    block.d = 0x3800;     // 0.5
    block.dmin = 0x3400;  // 0.25
    std::memcpy(block.scales, kPackedScales, 12);
    for (int i = 0; i < 128; ++i) block.qs[i] = static_cast<uint8_t>(i % 16 | (15 - i % 16) << 4);
    const auto y = dequantize_block(DType::Q4_K, block, 256);
    CHECK(y[0] == 0.0f);          // 0.5*1*0 - 0.25*0
    CHECK(y[32] == 13.75f);       // 0.5*2*15 - 0.25*5
    CHECK(y[129] == 11.5f);       // 0.5*33*1 - 0.25*20
    CHECK(y[160] == 329.75f);     // 0.5*45*15 - 0.25*31
    CHECK(y[255] == -0.25f);      // 0.5*17*0 - 0.25*1
    for (int v = 0; v < 256; ++v) {
        const int s = v / 32;
        CHECK(y[v] == 0.5f * static_cast<float>(kScale[s]) * static_cast<float>(k_nibble(v)) -
                          0.25f * static_cast<float>(kMin[s]));
    }
}

TEST_CASE("Q5_K: bit s of qh[l] is the fifth bit of value l of sub-block s", "[quant][dequantize]") {
    apr::quant::BlockQ5_K block{};
    block.d = 0x3800;
    block.dmin = 0x3400;
    std::memcpy(block.scales, kPackedScales, 12);
    for (int i = 0; i < 128; ++i) block.qs[i] = static_cast<uint8_t>(i % 16 | (15 - i % 16) << 4);
    // Even l: sub-blocks 0, 2, 4, 6 get the bit; odd l: sub-blocks 1, 3, 5, 7.
    for (int l = 0; l < 32; ++l) block.qh[l] = (l & 1) ? 0xAA : 0x55;
    const auto y = dequantize_block(DType::Q5_K, block, 256);
    CHECK(y[0] == 8.0f);      // 0.5*1*16
    CHECK(y[32] == 13.75f);   // no fifth bit: 0.5*2*15 - 1.25
    CHECK(y[33] == 28.75f);   // 0.5*2*(14+16) - 1.25
    for (int v = 0; v < 256; ++v) {
        const int s = v / 32, l = v % 32;
        const int q = k_nibble(v) + ((l & 1) == (s & 1) ? 16 : 0);
        CHECK(y[v] == 0.5f * static_cast<float>(kScale[s]) * static_cast<float>(q) -
                          0.25f * static_cast<float>(kMin[s]));
    }
}

TEST_CASE("Q6_K: ql/qh layout and signed 8-bit sub-block scales", "[quant][dequantize]") {
    apr::quant::BlockQ6_K block{};
    block.d = 0x3800;  // 0.5
    const int8_t scales[16] = {1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 6, -6, 7, -7, 8, -128};
    std::memcpy(block.scales, scales, 16);
    // All-zero ql/qh bytes mean q = -32 everywhere, except where set below.
    block.ql[0] = 0x21;
    block.qh[0] = 0xE4;   // 0b11'10'01'00
    block.ql[32] = 0x4F;
    block.ql[81] = 0x0A;  // second half, l = 17, low nibble: value 128 + 17
    block.qh[49] = 0x03;
    block.ql[127] = 0xF0; // second half, l = 31, high nibble of ql[64+32+l]: value 255
    block.qh[63] = 0xC0;
    const auto y = dequantize_block(DType::Q6_K, block, 256);
    std::array<float, 256> expected{};
    for (int v = 0; v < 256; ++v) expected[v] = 0.5f * static_cast<float>(scales[v / 16]) * -32.0f;
    expected[0] = -15.5f;     // q = 1 | 0 << 4 = 1 -> -31, scale 1
    expected[32] = -1.0f;     // q = 15 | 1 << 4 = 31 -> -1, scale 2
    expected[64] = 3.0f;      // q = 2 | 2 << 4 = 34 -> 2, scale 3
    expected[96] = 40.0f;     // q = 4 | 3 << 4 = 52 -> 20, scale 4
    expected[145] = -65.0f;   // q = 10 | 3 << 4 = 58 -> 26, scale -5
    expected[255] = -1984.0f; // q = 15 | 3 << 4 = 63 -> 31, scale -128
    for (int v = 0; v < 256; ++v) CHECK(y[v] == expected[v]);
}

TEST_CASE("Several blocks in a row decode independently", "[quant][dequantize]") {
    apr::quant::BlockQ8_0 blocks[3]{};
    for (int b = 0; b < 3; ++b) {
        blocks[b].d = static_cast<uint16_t>(0x3C00 + (b << 10));  // 1, 2, 4
        for (int j = 0; j < 32; ++j) blocks[b].qs[j] = static_cast<int8_t>(j);
    }
    std::vector<float> y(96);
    dequantize_row(DType::Q8_0, blocks, y.data(), 96);
    for (int b = 0; b < 3; ++b)
        for (int j = 0; j < 32; ++j) CHECK(y[32 * b + j] == static_cast<float>(j << b));
}

TEST_CASE("dequantize_row rejects partial blocks, null pointers and unsupported types", "[quant][dequantize]") {
    std::vector<std::byte> bytes(1024);
    std::vector<float> out(512);
    auto code_of = [](auto&& fn) {
        try {
            fn();
        } catch (const apr::Error& e) {
            return e.code();
        }
        return apr::ErrorCode::ok;
    };
    CHECK(code_of([&] { dequantize_row(DType::Q4_K, bytes.data(), out.data(), 100); }) ==
          apr::ErrorCode::invalid_argument);
    CHECK(code_of([&] { dequantize_row(DType::Q8_0, bytes.data(), out.data(), -32); }) ==
          apr::ErrorCode::invalid_argument);
    CHECK(code_of([&] { dequantize_row(DType::Q8_0, nullptr, out.data(), 32); }) == apr::ErrorCode::invalid_argument);
    CHECK(code_of([&] { dequantize_row(DType::Q2_K, bytes.data(), out.data(), 256); }) ==
          apr::ErrorCode::unsupported);
    CHECK(code_of([&] { dequantize_row(static_cast<DType>(77), bytes.data(), out.data(), 32); }) ==
          apr::ErrorCode::unsupported);
    CHECK(code_of([&] { dequantize_row(DType::Q8_0, nullptr, nullptr, 0); }) == apr::ErrorCode::ok);
    CHECK_FALSE(apr::quant::can_dequantize(DType::Q3_K));
    CHECK(apr::quant::can_dequantize(DType::Q6_K));
    try {
        dequantize_row(DType::Q4_K, bytes.data(), out.data(), 100);
    } catch (const apr::Error& e) {
        CHECK(std::string(e.what()).find("Q4_K") != std::string::npos);
    }
}

TEST_CASE("dequantize(TensorView) checks the view and converts row by row", "[quant][dequantize]") {
    apr::quant::BlockQ4_0 blocks[4]{};
    for (int b = 0; b < 4; ++b) {
        blocks[b].d = 0x3C00;
        for (int j = 0; j < 16; ++j) blocks[b].qs[j] = static_cast<uint8_t>(b * 4 | (b * 4) << 4);
    }
    apr::TensorView view;
    view.name = "blk.0.ffn_up.weight";
    view.dtype = DType::Q4_0;
    view.shape = {2, 64};
    view.data = reinterpret_cast<const std::byte*>(blocks);
    view.nbytes = sizeof(blocks);
    const auto y = apr::quant::dequantize(view);
    REQUIRE(y.size() == 128);
    for (int i = 0; i < 128; ++i) CHECK(y[i] == static_cast<float>((i / 32) * 4 - 8));

    auto code_of = [](const apr::TensorView& v) {
        try {
            apr::quant::dequantize(v);
        } catch (const apr::Error& e) {
            CHECK(std::string(e.what()).find("blk.0.ffn_up.weight") != std::string::npos);
            return e.code();
        }
        return apr::ErrorCode::ok;
    };
    apr::TensorView short_data = view;
    short_data.nbytes -= 1;
    CHECK(code_of(short_data) == apr::ErrorCode::bad_format);
    apr::TensorView ragged_rows = view;
    ragged_rows.shape = {4, 32};  // same bytes, rows of one block: fine
    CHECK(code_of(ragged_rows) == apr::ErrorCode::ok);
    ragged_rows.shape = {8, 16};  // rows of half a block
    CHECK(code_of(ragged_rows) == apr::ErrorCode::bad_format);
    apr::TensorView negative = view;
    negative.shape = {-2, 64};
    CHECK(code_of(negative) == apr::ErrorCode::bad_format);
    apr::TensorView no_data = view;
    no_data.data = nullptr;
    CHECK(code_of(no_data) == apr::ErrorCode::bad_format);
    apr::TensorView q2 = view;
    q2.dtype = DType::Q2_K;
    CHECK(code_of(q2) == apr::ErrorCode::unsupported);
}
