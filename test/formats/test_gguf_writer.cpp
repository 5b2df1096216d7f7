// The GGUF writer: what it writes reads back identically (every metadata
// type, nested arrays, tensors of several types, custom alignment), it
// rejects bad arguments, and a failed write never touches an existing file.
#include <catch2/catch.hpp>

#include <cstring>

#include "apr/error.hpp"
#include "apr/model_file.hpp"
#include "formats/gguf_reader.hpp"
#include "formats/gguf_writer.hpp"
#include "support/fixtures.hpp"
#include "temp_dir.hpp"

namespace {

using namespace apr;
using namespace apr::formats;

std::vector<std::byte> pattern_bytes(size_t n, unsigned seed) {
    std::vector<std::byte> bytes(n);
    for (size_t i = 0; i < n; ++i) bytes[i] = static_cast<std::byte>((i * 131 + seed * 17) & 0xff);
    return bytes;
}

}  // namespace

TEST_CASE("GGUF writer round-trips every metadata type and nested arrays") {
    test::TempDir dir;
    GgufWriter w;
    w.set("general.architecture", meta_string_value("qwen2"));
    w.set("t.u8", meta_u8(200));
    w.set("t.i8", meta_i8(-100));
    w.set("t.u16", meta_u16(60000));
    w.set("t.i16", meta_i16(-30000));
    w.set("t.u32", meta_u32(4000000000u));
    w.set("t.i32", meta_i32(-2000000000));
    w.set("t.u64", meta_u64(18000000000000000000ull));
    w.set("t.i64", meta_i64(-9000000000000000000ll));
    w.set("t.f32", meta_f32(0.25f));
    w.set("t.f64", meta_f64(1e-300));
    w.set("t.bool", meta_bool_value(true));
    w.set("t.str", meta_string_value("h\xc3\xa9llo\n"));
    w.set("t.strs", meta_string_array({"a", "", "<|im_end|>"}));
    w.set("t.empty", meta_string_array({}));
    w.set("t.nested", meta_array_value(MetaType::array, {meta_i32_array({1, 2}), meta_i32_array({}),
                                                         meta_i32_array({-3})}));
    w.set("t.u8", meta_u8(7));  // replacing keeps one key
    const auto path = dir / "meta.gguf";
    w.write(path);

    const auto file = open_model_file(path);
    const auto& m = file->metadata();
    CHECK(m.size() == 16);
    CHECK(m.at("t.u8").type == static_cast<uint32_t>(MetaType::uint8));
    CHECK(meta_int(m.at("t.u8")) == 7);
    CHECK(meta_int(m.at("t.i8")) == -100);
    CHECK(meta_int(m.at("t.u16")) == 60000);
    CHECK(meta_int(m.at("t.i16")) == -30000);
    CHECK(meta_int(m.at("t.u32")) == 4000000000ll);
    CHECK(meta_int(m.at("t.i32")) == -2000000000);
    CHECK(std::get<uint64_t>(m.at("t.u64").value) == 18000000000000000000ull);
    CHECK_FALSE(meta_int(m.at("t.u64")).has_value());  // above INT64_MAX
    CHECK(meta_int(m.at("t.i64")) == -9000000000000000000ll);
    CHECK(m.at("t.f32").type == static_cast<uint32_t>(MetaType::float32));
    CHECK(meta_float(m.at("t.f32")) == 0.25);
    CHECK(meta_float(m.at("t.f64")) == 1e-300);
    CHECK(meta_bool(m.at("t.bool")) == true);
    CHECK(*meta_string(m.at("t.str")) == "h\xc3\xa9llo\n");
    const MetaArray& strs = *meta_array(m.at("t.strs"));
    REQUIRE(strs.size() == 3);
    CHECK(*meta_string(strs[2]) == "<|im_end|>");
    CHECK(meta_array(m.at("t.empty"))->empty());
    CHECK(m.at("t.empty").element_type == static_cast<uint32_t>(MetaType::string));
    const MetaValue& nested = m.at("t.nested");
    CHECK(nested.element_type == static_cast<uint32_t>(MetaType::array));
    const MetaArray& outer = *meta_array(nested);
    REQUIRE(outer.size() == 3);
    CHECK(outer[0].element_type == static_cast<uint32_t>(MetaType::int32));
    CHECK(meta_int(meta_array(outer[0])->at(1)) == 2);
    CHECK(meta_array(outer[1])->empty());
    CHECK(meta_int(meta_array(outer[2])->at(0)) == -3);
    CHECK(file->tensors().empty());
}

TEST_CASE("GGUF writer round-trips tensors of several types with their alignment") {
    const uint32_t alignment = GENERATE(32u, 64u, 1u);
    INFO("alignment " << alignment);
    test::TempDir dir;
    GgufWriter w(2);
    if (alignment != 32) w.set("general.alignment", meta_u32(alignment));
    const auto f32 = pattern_bytes(3 * 5 * 4, 1);
    const auto f16 = pattern_bytes(7 * 2, 2);
    const auto q4k = pattern_bytes(2 * 144, 3);
    const auto q80 = pattern_bytes(4 * 34, 4);
    w.add_tensor("a.f32", DType::F32, {3, 5}, std::span<const std::byte>(f32));
    w.add_tensor("b.f16", DType::F16, {7}, std::span<const std::byte>(f16));
    w.add_tensor("c.q4k", DType::Q4_K, {2, 256}, std::vector<std::byte>(q4k));
    w.add_tensor("d.q8", DType::Q8_0, {2, 2, 32}, std::vector<std::byte>(q80));
    const auto path = dir / "t.gguf";
    const GgufLayout layout = w.write(path);
    CHECK(std::filesystem::file_size(path) == layout.file_size);
    CHECK(layout.data_offset % alignment == 0);

    const auto file = open_model_file(path);
    REQUIRE(file->tensors().size() == 4);
    const auto check = [&](const char* name, DType type, std::vector<int64_t> shape, const std::vector<std::byte>& bytes,
                           size_t index) {
        INFO(name);
        const auto& t = file->tensor(name);
        CHECK(t.dtype == type);
        CHECK(t.shape == shape);
        REQUIRE(t.nbytes == bytes.size());
        CHECK(std::memcmp(t.data, bytes.data(), bytes.size()) == 0);
        CHECK(reinterpret_cast<uintptr_t>(t.data) % alignment == 0);
        CHECK(layout.tensor_data_offsets[index] % alignment == 0);
    };
    check("a.f32", DType::F32, {3, 5}, f32, 0);
    check("b.f16", DType::F16, {7}, f16, 1);
    check("c.q4k", DType::Q4_K, {2, 256}, q4k, 2);
    check("d.q8", DType::Q8_0, {2, 2, 32}, q80, 3);

    // The raw header stores dims innermost first.
    const std::string bytes = test::read_text_file(path);
    const auto contents = parse_gguf(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size(), "t.gguf");
    CHECK(contents.version == 2);
    CHECK(contents.alignment == alignment);
    uint64_t first_dim = 0;
    std::memcpy(&first_dim, bytes.data() + layout.tensor_info_offsets[0] + 8 + 5 + 4, 8);
    CHECK(first_dim == 5);
}

TEST_CASE("GGUF writer rejects bad arguments") {
    GgufWriter w;
    const auto four = pattern_bytes(4, 0);
    CHECK_THROWS_AS(w.add_tensor("x", DType::F32, {2}, std::span<const std::byte>(four)), Error);  // size mismatch
    CHECK_THROWS_AS(w.add_tensor("x", DType::Q4_0, {1, 16}, std::span<const std::byte>(four)), Error);  // partial block
    CHECK_THROWS_AS(w.add_tensor("x", DType::F32, {1, 1, 1, 1, 1}, std::span<const std::byte>(four)), Error);
    CHECK_THROWS_AS(w.add_tensor("", DType::F32, {1}, std::span<const std::byte>(four)), Error);
    CHECK_THROWS_AS(w.set("k\xff", meta_u8(1)), Error);
    CHECK_THROWS_AS(w.set("general.alignment", meta_u32(24)), Error);
    w.add_tensor("x", DType::F32, {1}, std::span<const std::byte>(four));
    CHECK_THROWS_AS(w.add_tensor("x", DType::F32, {1}, std::span<const std::byte>(four)), Error);  // duplicate
    MetaValue wrong = meta_u8(3);
    wrong.type = static_cast<uint32_t>(MetaType::string);
    w.set("bad", wrong);
    test::TempDir dir;
    try {
        w.write(dir / "never.gguf");
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::invalid_argument);
        CHECK_THAT(e.what(), Catch::Contains("'bad'"));
    }
    CHECK(std::filesystem::is_empty(dir.path()));  // no temporary file left behind
}

TEST_CASE("a failed GGUF write leaves an existing file untouched") {
    test::TempDir dir;
    const auto path = dir / "keep.gguf";
    test::write_file(path, "precious");
    GgufWriter w;
    MetaValue wrong = meta_u32(1);
    wrong.value = std::string("not a number");
    w.set("bad", wrong);
    CHECK_THROWS_AS(w.write(path), Error);
    CHECK(test::read_text_file(path) == "precious");
    CHECK(std::distance(std::filesystem::directory_iterator(dir.path()), {}) == 1);

    try {
        GgufWriter().write(dir / "no-such-folder" / "x.gguf");
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::io);
        CHECK_THAT(e.what(), Catch::Contains("no-such-folder"));
    }

    GgufWriter good;
    good.set("general.architecture", meta_string_value("llama"));
    good.write(path);  // success replaces it
    CHECK(open_model_file(path)->config().architecture == "llama");
}
