// Malformed GGUF files: each corruption of a good file gives apr::Error with
// the right code and a message naming the file and the field at fault, and
// no corruption crashes the reader.
#include <catch2/catch.hpp>

#include <cstring>

#include <fmt/format.h>

#include "apr/error.hpp"
#include "apr/model_file.hpp"
#include "formats/gguf_reader.hpp"
#include "formats/gguf_writer.hpp"
#include "support/fixtures.hpp"
#include "temp_dir.hpp"

namespace {

using namespace apr;
using namespace apr::formats;

// A small good file: two metadata keys and two F32 tensors.
struct GoodFile {
    std::string bytes;
    GgufLayout layout;
};

GoodFile make_good_file(const test::TempDir& dir) {
    GgufWriter w;
    w.set("general.architecture", meta_string_value("qwen2"));
    w.set("tokenizer.ggml.tokens", meta_string_array({"a", "b", "c"}));
    std::vector<std::byte> weights(2 * 8 * 4, std::byte{1});
    std::vector<std::byte> bias(8 * 4, std::byte{2});
    w.add_tensor("blk.0.attn_q.weight", DType::F32, {2, 8}, std::move(weights));
    w.add_tensor("blk.0.attn_q.bias", DType::F32, {8}, std::move(bias));
    const auto path = dir / "good.gguf";
    GoodFile good;
    good.layout = w.write(path);
    good.bytes = test::read_text_file(path);
    return good;
}

template <typename T>
void poke(std::string& bytes, size_t offset, T value) {
    REQUIRE(offset + sizeof(T) <= bytes.size());
    std::memcpy(bytes.data() + offset, &value, sizeof(T));
}

// Offsets inside tensor info `i` ("blk.0.attn_q.weight" is 19 bytes, the bias 17).
size_t n_dims_at(const GoodFile& f, size_t i) { return f.layout.tensor_info_offsets[i] + 8 + (i == 0 ? 19 : 17); }
size_t dims_at(const GoodFile& f, size_t i) { return n_dims_at(f, i) + 4; }
size_t type_at(const GoodFile& f, size_t i, size_t n_dims) { return dims_at(f, i) + 8 * n_dims; }
size_t offset_at(const GoodFile& f, size_t i, size_t n_dims) { return type_at(f, i, n_dims) + 4; }

// Writes `bytes` as bad.gguf, opens it, and returns the error.
Error open_error(const test::TempDir& dir, const std::string& bytes) {
    const auto path = dir / "bad.gguf";
    test::write_file(path, bytes);
    try {
        (void)open_model_file(path);
    } catch (const Error& e) {
        return e;
    }
    FAIL("the file opened without error");
    return Error(ErrorCode::ok, "");
}

void check_error(const test::TempDir& dir, const std::string& bytes, ErrorCode code, const std::string& fragment) {
    const Error e = open_error(dir, bytes);
    INFO(e.what());
    CHECK(e.code() == code);
    CHECK_THAT(e.what(), Catch::Contains("bad.gguf") && Catch::Contains(fragment));
}

}  // namespace

TEST_CASE("the good file opens") {
    test::TempDir dir;
    const GoodFile f = make_good_file(dir);
    const auto file = open_model_file(dir / "good.gguf");
    CHECK(file->tensors().size() == 2);
    CHECK(file->config().attention_bias);
    CHECK(file->config().vocab_size == 3);
}

TEST_CASE("GGUF header corruptions") {
    test::TempDir dir;
    const GoodFile f = make_good_file(dir);
    std::string b = f.bytes;

    SECTION("wrong magic") {
        b[0] = 'X';
        check_error(dir, b, ErrorCode::bad_format, "not a GGUF file");
    }
    SECTION("version 1 and 4 are unsupported") {
        poke<uint32_t>(b, 4, 1);
        check_error(dir, b, ErrorCode::unsupported, "version 1");
        poke<uint32_t>(b, 4, 4);
        check_error(dir, b, ErrorCode::unsupported, "version 4");
    }
    SECTION("absurd tensor count") {
        poke<uint64_t>(b, f.layout.tensor_count_offset, uint64_t{1} << 40);
        check_error(dir, b, ErrorCode::bad_format, "tensor count 1099511627776");
    }
    SECTION("absurd metadata count") {
        poke<uint64_t>(b, f.layout.kv_count_offset, ~uint64_t{0});
        check_error(dir, b, ErrorCode::bad_format, "metadata count");
    }
    SECTION("a key length past the end") {
        poke<uint64_t>(b, f.layout.kv_offsets[1], 1000000);
        check_error(dir, b, ErrorCode::bad_format, "metadata key #1 length 1000000");
    }
    SECTION("a non-UTF-8 key") {
        b[f.layout.kv_offsets[0] + 8] = '\xc0';
        check_error(dir, b, ErrorCode::bad_format, "metadata key #0");
    }
    SECTION("an unknown value type") {
        poke<uint32_t>(b, f.layout.kv_offsets[0] + 8 + 20, 13);  // after "general.architecture"
        check_error(dir, b, ErrorCode::bad_format, "unknown value type 13");
    }
    SECTION("a string value longer than the file") {
        poke<uint64_t>(b, f.layout.kv_offsets[0] + 8 + 20 + 4, uint64_t{1} << 50);
        check_error(dir, b, ErrorCode::bad_format, "'general.architecture' string");
    }
    SECTION("an absurd array length") {
        const size_t count_at = f.layout.kv_offsets[1] + 8 + 21 + 4 + 4;  // "tokenizer.ggml.tokens", type, element type
        poke<uint64_t>(b, count_at, uint64_t{1} << 60);
        check_error(dir, b, ErrorCode::bad_format, "array length");
    }
    SECTION("an unknown array element type") {
        poke<uint32_t>(b, f.layout.kv_offsets[1] + 8 + 21 + 4, 77);
        check_error(dir, b, ErrorCode::bad_format, "unknown element type 77");
    }
    SECTION("too many dimensions") {
        poke<uint32_t>(b, n_dims_at(f, 0), 5);
        check_error(dir, b, ErrorCode::bad_format, "tensor 'blk.0.attn_q.weight': 5 dimensions");
    }
    SECTION("an unknown tensor type") {
        poke<uint32_t>(b, type_at(f, 1, 1), 99);
        check_error(dir, b, ErrorCode::unsupported, "tensor 'blk.0.attn_q.bias': unknown tensor type id 99");
    }
    SECTION("data past the end of the file") {
        poke<uint64_t>(b, offset_at(f, 1, 1), 4096);
        const std::string expected = fmt::format(
            "tensor 'blk.0.attn_q.bias': data offset {} + 32 bytes runs past the end of the file ({} bytes)",
            f.layout.data_offset + 4096, b.size());
        check_error(dir, b, ErrorCode::bad_format, expected);
    }
    SECTION("a shape larger than the data") {
        poke<uint64_t>(b, dims_at(f, 0), 8000);
        check_error(dir, b, ErrorCode::bad_format, "runs past the end of the file");
    }
    SECTION("an absurd dimension") {
        poke<uint64_t>(b, dims_at(f, 0), ~uint64_t{0});
        check_error(dir, b, ErrorCode::bad_format, "dimension 0");
    }
    SECTION("overlapping tensors") {
        poke<uint64_t>(b, offset_at(f, 1, 1), 32);  // inside the 64-byte weight at offset 0
        check_error(dir, b, ErrorCode::bad_format, "overlaps tensor 'blk.0.attn_q.weight'");
    }
    SECTION("an unaligned data offset") {
        poke<uint64_t>(b, offset_at(f, 1, 1), 68);
        check_error(dir, b, ErrorCode::bad_format, "data offset 68 is not a multiple of the alignment 32");
    }
    SECTION("a duplicate tensor name") {
        GgufWriter w;
        w.add_tensor("aaaa", DType::F32, {1}, std::vector<std::byte>(4));
        w.add_tensor("bbbb", DType::F32, {1}, std::vector<std::byte>(4));
        const auto layout = w.write(dir / "dup.gguf");
        std::string d = test::read_text_file(dir / "dup.gguf");
        d.replace(layout.tensor_info_offsets[1] + 8, 4, "aaaa");
        check_error(dir, d, ErrorCode::bad_format, "tensor 'aaaa' appears twice");
    }
    SECTION("a truncated file, cut at every byte of the header") {
        for (size_t cut = 0; cut < f.layout.data_offset; ++cut) {
            const Error e = open_error(dir, b.substr(0, cut));
            INFO("cut at " << cut << ": " << e.what());
            REQUIRE(e.code() == ErrorCode::bad_format);
        }
    }
    SECTION("a file cut inside the tensor data") {
        check_error(dir, b.substr(0, b.size() - 1), ErrorCode::bad_format, "runs past the end of the file");
    }
}

TEST_CASE("GGUF metadata value corruptions") {
    test::TempDir dir;
    SECTION("a boolean byte that is neither 0 nor 1") {
        GgufWriter w;
        w.set("x.flag", meta_bool_value(true));
        const auto layout = w.write(dir / "b.gguf");
        std::string b = test::read_text_file(dir / "b.gguf");
        b[layout.kv_offsets[0] + 8 + 6 + 4] = 2;
        check_error(dir, b, ErrorCode::bad_format, "boolean byte is 2");
    }
    SECTION("a duplicate key") {
        GgufWriter w;
        w.set("aaa", meta_u8(1));
        w.set("bbb", meta_u8(2));
        const auto layout = w.write(dir / "d.gguf");
        std::string b = test::read_text_file(dir / "d.gguf");
        b.replace(layout.kv_offsets[1] + 8, 3, "aaa");
        check_error(dir, b, ErrorCode::bad_format, "'aaa' appears twice");
    }
    SECTION("a bad alignment") {
        GgufWriter w;
        w.set("general.alignment", meta_u32(64));
        const auto layout = w.write(dir / "a.gguf");
        std::string b = test::read_text_file(dir / "a.gguf");
        poke<uint32_t>(b, layout.kv_offsets[0] + 8 + 17 + 4, 48);
        check_error(dir, b, ErrorCode::bad_format, "general.alignment");
        poke<uint32_t>(b, layout.kv_offsets[0] + 8 + 17 + 4, 0);
        check_error(dir, b, ErrorCode::bad_format, "general.alignment");
    }
    SECTION("arrays nested too deeply") {
        MetaValue v = meta_i32_array({1});
        for (int i = 0; i < kGgufMaxArrayDepth; ++i) v = meta_array_value(MetaType::array, {v});
        // The writer refuses it too, so build the bytes by hand: nested array headers.
        std::string b("GGUF", 4);
        const auto put32 = [&](uint32_t x) { b.append(reinterpret_cast<const char*>(&x), 4); };
        const auto put64 = [&](uint64_t x) { b.append(reinterpret_cast<const char*>(&x), 8); };
        put32(3);
        put64(0);
        put64(1);
        put64(1);
        b += "k";
        put32(9);
        for (int i = 0; i < 20; ++i) {
            put32(9);
            put64(1);
        }
        put32(5);
        put64(0);
        check_error(dir, b, ErrorCode::bad_format, "nested deeper");
    }
    SECTION("metadata of the wrong type for the config") {
        GgufWriter w;
        w.set("general.architecture", meta_string_value("qwen2"));
        w.set("qwen2.block_count", meta_string_value("four"));
        w.write(dir / "bad.gguf");
        try {
            (void)open_model_file(dir / "bad.gguf");
            FAIL("no error");
        } catch (const Error& e) {
            CHECK(e.code() == ErrorCode::bad_format);
            CHECK_THAT(e.what(), Catch::Contains("qwen2.block_count"));
        }
    }
}

TEST_CASE("no single-byte corruption of a GGUF header crashes the reader") {
    test::TempDir dir;
    const GoodFile f = make_good_file(dir);
    int errors = 0;
    for (size_t at = 0; at < f.layout.data_offset; ++at) {
        for (const unsigned char value : {0x00, 0x01, 0x7f, 0x80, 0xff}) {
            std::string b = f.bytes;
            if (static_cast<unsigned char>(b[at]) == value) continue;
            b[at] = static_cast<char>(value);
            try {
                (void)parse_gguf(reinterpret_cast<const std::byte*>(b.data()), b.size(), "mem.gguf");
            } catch (const Error& e) {
                ++errors;
                REQUIRE((e.code() == ErrorCode::bad_format || e.code() == ErrorCode::unsupported));
                REQUIRE_THAT(e.what(), Catch::StartsWith("mem.gguf: "));
            }
        }
    }
    CHECK(errors > 500);  // most corruptions are detected; the rest change values only
}

TEST_CASE("opening missing or unknown sources") {
    test::TempDir dir;
    try {
        (void)open_model_file(dir / "nope.gguf");
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::not_found);
        CHECK_THAT(e.what(), Catch::Contains("nope.gguf"));
    }
    test::write_file(dir / "text.bin", "hello world, not a model");
    try {
        (void)open_model_file(dir / "text.bin");
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::unsupported);
        CHECK_THAT(e.what(), Catch::Contains("text.bin"));
    }
    test::write_file(dir / "empty.gguf", "");
    CHECK_THROWS_AS(open_model_file(dir / "empty.gguf"), Error);
    try {
        (void)open_model_file(dir.path());  // a folder without config.json
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::not_found);
        CHECK_THAT(e.what(), Catch::Contains("config.json"));
    }
}
