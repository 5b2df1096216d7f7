// APR v2 writer and reader on small hand-made files: layout, zero-copy views,
// checksums, metadata round trip, atomic writes, and every malformed-file
// check with the error it gives.
#include <catch2/catch.hpp>

#include <cstring>
#include <fstream>

#include "apr/error.hpp"
#include "apr/model_file.hpp"
#include "apr/verify.hpp"
#include "core/crc32.hpp"
#include "formats/apr_layout.hpp"
#include "formats/apr_metadata.hpp"
#include "formats/apr_reader.hpp"
#include "formats/apr_writer.hpp"
#include "support/fixtures.hpp"
#include "support/meta_compare.hpp"
#include "temp_dir.hpp"

using namespace apr;
using formats::AprLayout;
using formats::AprWriter;

namespace {

std::string read_all(const std::filesystem::path& path) { return test::read_text_file(path); }

std::vector<std::byte> f32_bytes(const std::vector<float>& v) {
    std::vector<std::byte> out(v.size() * 4);
    std::memcpy(out.data(), v.data(), out.size());
    return out;
}

struct SmallFile {
    std::vector<std::byte> a = f32_bytes({1, 2, 3, 4, 5, 6});   // "b.weight" [2, 3] F32
    std::vector<std::byte> q = std::vector<std::byte>(34 * 2, std::byte{7});  // "a.weight" [2, 32] Q8_0
    AprLayout layout;
    std::filesystem::path path;

    explicit SmallFile(const test::TempDir& dir) : path(dir / "small.apr") {
        AprWriter w;
        formats::AprMetadata md;
        md.config.architecture = "qwen2";
        md.config.hidden_size = 32;
        md.config.num_layers = 1;
        md.config.eos_token_ids = {1};
        w.set_metadata(formats::encode_apr_metadata(md));
        w.add_tensor("b.weight", DType::F32, {2, 3}, a);  // added out of order: the index sorts
        w.add_tensor("a.weight", DType::Q8_0, {2, 32}, q);
        layout = w.write(path, false);
    }
};

// Rewrites the header CRC (and the footer) after a patch, so the check that
// fires is the one the patch aims at, not the checksum.
void patch(const std::filesystem::path& path, size_t offset, const void* bytes, size_t n, bool fix_crcs = true) {
    std::string s = read_all(path);
    std::memcpy(s.data() + offset, bytes, n);
    if (fix_crcs) {
        const uint32_t h = formats::apr_header_crc(reinterpret_cast<const std::byte*>(s.data()));
        std::memcpy(s.data() + 40, &h, 4);
        const uint32_t f = crc32(s.data(), s.size() - 4);
        std::memcpy(s.data() + s.size() - 4, &f, 4);
    }
    test::write_file(path, s);
}

template <typename T>
void patch_value(const std::filesystem::path& path, size_t offset, T value) {
    patch(path, offset, &value, sizeof(T));
}

std::string open_error(const std::filesystem::path& path) {
    try {
        (void)open_model_file(path);
    } catch (const Error& e) {
        return e.what();
    }
    return "(opened)";
}

}  // namespace

TEST_CASE("APR writer: 64-byte header, sorted index, aligned data, CRC footer") {
    test::TempDir dir;
    SmallFile f(dir);
    const std::string s = read_all(f.path);
    REQUIRE(s.size() == f.layout.file_size);
    CHECK(std::memcmp(s.data(), "APR\0", 4) == 0);
    CHECK(s[4] == 2);
    CHECK(s[5] == 0);
    uint32_t count;
    uint64_t meta_offset, index_offset, data_offset;
    std::memcpy(&count, s.data() + 8, 4);
    std::memcpy(&meta_offset, s.data() + 12, 8);
    std::memcpy(&index_offset, s.data() + 24, 8);
    std::memcpy(&data_offset, s.data() + 32, 8);
    CHECK(count == 2);
    CHECK(meta_offset == 64);
    CHECK(index_offset % 64 == 0);
    CHECK(data_offset % 64 == 0);
    CHECK(s[meta_offset] == '{');
    for (size_t o : f.layout.tensor_data_offsets) CHECK(o % 64 == 0);
    // The index is sorted: "a.weight" first although it was added second.
    CHECK(s.substr(index_offset + 2, 8) == "a.weight");
    uint32_t footer;
    std::memcpy(&footer, s.data() + s.size() - 4, 4);
    CHECK(footer == crc32(s.data(), s.size() - 4));
}

TEST_CASE("APR reader: zero-copy views with the written bytes, config from the metadata") {
    test::TempDir dir;
    SmallFile f(dir);
    const auto file = open_model_file(f.path);
    CHECK(file->format() == FileFormat::apr);
    CHECK(file->config().architecture == "qwen2");
    CHECK(file->config().hidden_size == 32);
    CHECK(file->config().eos_token_ids == std::vector<int32_t>{1});
    REQUIRE(file->tensors().size() == 2);
    const TensorView& b = file->tensor("b.weight");
    CHECK(b.dtype == DType::F32);
    CHECK(b.shape == std::vector<int64_t>{2, 3});
    REQUIRE(b.nbytes == f.a.size());
    CHECK(std::memcmp(b.data, f.a.data(), b.nbytes) == 0);
    CHECK(reinterpret_cast<uintptr_t>(b.data) % 64 == 0);
    const TensorView& a = file->tensor("a.weight");
    CHECK(a.dtype == DType::Q8_0);
    CHECK(std::memcmp(a.data, f.q.data(), a.nbytes) == 0);
    CHECK(verify_model_file(*file));
}

TEST_CASE("APR: a flipped data byte passes the open but fails --verify; a flipped header byte fails the open") {
    test::TempDir dir;
    SmallFile f(dir);
    const uint8_t junk = 0x5A;
    patch(f.path, f.layout.tensor_data_offsets[1] + 1, &junk, 1, /*fix_crcs=*/false);
    const auto file = open_model_file(f.path);
    CHECK_THROWS_WITH(verify_model_file(*file), Catch::Contains("footer checksum") && Catch::Contains("small.apr"));

    std::filesystem::remove(f.path);
    SmallFile h(dir);
    patch(h.path, 9, &junk, 1, /*fix_crcs=*/false);  // the tensor count
    CHECK_THAT(open_error(h.path), Catch::Contains("header checksum") && Catch::Contains("small.apr"));
}

TEST_CASE("APR reader: malformed files give errors naming the file and the field") {
    test::TempDir dir;
    auto fresh = [&] {
        std::filesystem::remove(dir / "small.apr");
        return SmallFile(dir);
    };
    SECTION("wrong magic") {
        SmallFile f = fresh();
        patch(f.path, 0, "GGUF", 4);
        CHECK_THAT(open_error(f.path), Catch::Contains("wrong magic"));
    }
    SECTION("truncated") {
        SmallFile f = fresh();
        std::filesystem::resize_file(f.path, 40);
        CHECK_THAT(open_error(f.path), Catch::Contains("truncated"));
    }
    SECTION("future major version") {
        SmallFile f = fresh();
        patch_value<uint8_t>(f.path, 4, 3);
        CHECK_THAT(open_error(f.path), Catch::Contains("version 3.0 is not supported"));
    }
    SECTION("unknown flags") {
        SmallFile f = fresh();
        patch_value<uint16_t>(f.path, 6, 1);
        CHECK_THAT(open_error(f.path), Catch::Contains("flags 0x0001"));
    }
    SECTION("oversized metadata") {
        SmallFile f = fresh();
        patch_value<uint32_t>(f.path, 20, formats::kAprMaxMetadataBytes + 1);
        CHECK_THAT(open_error(f.path), Catch::Contains("metadata size") && Catch::Contains("exceeds the limit"));
    }
    SECTION("metadata past the end") {
        SmallFile f = fresh();
        patch_value<uint32_t>(f.path, 20, 1u << 20);
        CHECK_THAT(open_error(f.path), Catch::Contains("runs past the end"));
    }
    SECTION("unaligned data offset") {
        SmallFile f = fresh();
        patch_value<uint64_t>(f.path, 32, f.layout.data_offset + 8);
        CHECK_THAT(open_error(f.path), Catch::Contains("data offset") && Catch::Contains("multiple of 64"));
    }
    SECTION("tensor count larger than the index") {
        SmallFile f = fresh();
        patch_value<uint32_t>(f.path, 8, 1000000);
        CHECK_THAT(open_error(f.path), Catch::Contains("tensor count 1000000"));
    }
    SECTION("unknown dtype") {
        SmallFile f = fresh();
        patch_value<uint8_t>(f.path, f.layout.index_entry_offsets[0] + 2 + 8, 99);
        CHECK_THAT(open_error(f.path), Catch::Contains("tensor 'a.weight': unknown dtype id 99"));
    }
    SECTION("unsorted index") {
        SmallFile f = fresh();
        patch(f.path, f.layout.index_entry_offsets[0] + 2, "c", 1);  // "c.weight" before "b.weight"
        CHECK_THAT(open_error(f.path), Catch::Contains("not sorted by name"));
    }
    SECTION("duplicate names") {
        SmallFile f = fresh();
        patch(f.path, f.layout.index_entry_offsets[1] + 2, "a", 1);
        CHECK_THAT(open_error(f.path), Catch::Contains("a duplicate"));
    }
    SECTION("size not matching dtype x shape") {
        SmallFile f = fresh();
        // b.weight's entry: u16 len, 8 name bytes, dtype, ndim, 2 dims, offset, size
        patch_value<uint64_t>(f.path, f.layout.index_entry_offsets[1] + 2 + 8 + 2 + 16 + 8, 28);
        CHECK_THAT(open_error(f.path), Catch::Contains("tensor 'b.weight': size 28 bytes"));
    }
    SECTION("out-of-range tensor") {
        SmallFile f = fresh();
        patch_value<uint64_t>(f.path, f.layout.index_entry_offsets[1] + 2 + 8 + 2 + 16, 1u << 20);
        CHECK_THAT(open_error(f.path), Catch::Contains("tensor 'b.weight'") && Catch::Contains("runs past"));
    }
    SECTION("overlapping tensors") {
        SmallFile f = fresh();
        patch_value<uint64_t>(f.path, f.layout.index_entry_offsets[1] + 2 + 8 + 2 + 16, 0);
        CHECK_THAT(open_error(f.path), Catch::Contains("overlap"));
    }
    SECTION("row length not a whole number of blocks") {
        SmallFile f = fresh();
        patch_value<uint64_t>(f.path, f.layout.index_entry_offsets[0] + 2 + 8 + 2 + 8, 33);
        CHECK_THAT(open_error(f.path), Catch::Contains("tensor 'a.weight': row length 33"));
    }
    SECTION("metadata that is not JSON") {
        SmallFile f = fresh();
        patch(f.path, 64, "[", 1);
        CHECK_THAT(open_error(f.path), Catch::Contains("small.apr: metadata") && Catch::Contains("JSON"));
    }
    SECTION("a metadata field of the wrong type") {
        SmallFile f = fresh();
        const std::string s = read_all(f.path);
        const size_t at = s.find("\"hidden_size\":32");
        REQUIRE(at != std::string::npos);
        patch(f.path, at + 14, "[]", 2);  // "hidden_size":[]
        CHECK_THAT(open_error(f.path), Catch::Contains("small.apr: metadata 'hidden_size' must be an integer"));
    }
}

TEST_CASE("APR metadata: config, tokenizer and typed source metadata survive a round trip") {
    formats::AprMetadata md;
    md.config.architecture = "llama";
    md.config.rope_theta = 500000.0;
    md.config.rms_norm_eps = 1e-5;
    md.config.bos_token_id = 3;
    md.config.eos_token_ids = {4, 5};
    md.rope_type = "normal";
    md.chat_template = "{{ messages }}\n\"quoted\"";
    formats::AprTokenizer t;
    t.model = "gpt2";
    t.pre_type = "llama-bpe";
    t.vocabulary = {"a", "b", "ab", "\xc4\xa0x", "<|end|>"};
    t.merges = {"a b"};
    t.token_type = {1, 1, 1, 1, 3};
    t.eos_token_id = 4;
    t.add_bos_token = true;
    md.tokenizer = t;
    auto put = [&](const std::string& key, uint32_t type, auto value) {
        MetaValue v;
        v.type = type;
        v.value = value;
        md.source_metadata[key] = v;
    };
    put("u8", 0, uint64_t{255});
    put("i8", 1, int64_t{-128});
    put("u32", 4, uint64_t{4000000000});
    put("i64", 11, int64_t{-9000000000000000000});
    put("u64", 10, uint64_t{18000000000000000000ull});
    put("f32", 6, double{static_cast<float>(0.1f)});
    put("f64", 12, 0.1);
    put("b", 7, true);
    put("s", 8, std::string("tab\there"));
    MetaValue arr;
    arr.type = 9;
    arr.element_type = 6;
    MetaArray items;
    for (float f : {1.5f, -2.25f}) {
        MetaValue item;
        item.type = 6;
        item.value = double{f};
        items.push_back(item);
    }
    arr.value = items;
    md.source_metadata["f32s"] = arr;
    md.source_files["config.json"] = "{\"a\": 1}\n";

    const formats::AprMetadata back = formats::decode_apr_metadata(formats::encode_apr_metadata(md), "x.apr");
    CHECK(back.config.architecture == "llama");
    CHECK(back.config.rope_theta == 500000.0);
    CHECK(back.config.rms_norm_eps == 1e-5);
    CHECK(back.config.bos_token_id == std::optional<int32_t>(3));
    CHECK(back.config.eos_token_ids == std::vector<int32_t>{4, 5});
    CHECK(back.rope_type == "normal");
    CHECK(back.chat_template == md.chat_template);
    REQUIRE(back.tokenizer);
    CHECK(back.tokenizer->vocabulary == t.vocabulary);
    CHECK(back.tokenizer->merges == t.merges);
    CHECK(back.tokenizer->token_type == t.token_type);
    CHECK(back.tokenizer->eos_token_id == std::optional<int32_t>(4));
    CHECK(back.tokenizer->add_bos_token == std::optional<bool>(true));
    CHECK(back.source_files == md.source_files);
    REQUIRE(back.source_metadata.size() == md.source_metadata.size());
    for (const auto& [key, value] : md.source_metadata) {
        INFO(key);
        const MetaValue& b = back.source_metadata.at(key);
        CHECK(test::same_meta(b, value));
    }
    const MetaArray& fa = *meta_array(back.source_metadata.at("f32s"));
    REQUIRE(fa.size() == 2);
    CHECK(*meta_float(fa[1]) == -2.25);
}

TEST_CASE("APR metadata: bad fields are named") {
    CHECK_THROWS_WITH(formats::decode_apr_metadata(R"({"num_layers": -1})", "x.apr"),
                      Catch::Contains("x.apr: metadata 'num_layers'"));
    CHECK_THROWS_WITH(formats::decode_apr_metadata(R"({"rope_type": "sideways"})", "x.apr"),
                      Catch::Contains("'rope_type'"));
    CHECK_THROWS_WITH(formats::decode_apr_metadata(R"({"tokenizer": {"vocabulary": ["a"], "eos_token_id": 5}})", "x.apr"),
                      Catch::Contains("'tokenizer.eos_token_id' = 5 is outside the vocabulary"));
    CHECK_THROWS_WITH(formats::decode_apr_metadata(R"({"source_metadata": {"k": {"type": "u8", "value": 300}}})", "x.apr"),
                      Catch::Contains("source_metadata.k") && Catch::Contains("u8"));
    CHECK_THROWS_WITH(formats::decode_apr_metadata(R"({"tokenizer": {"vocabulary": ["a"], "token_type": [1, 2]}})", "x.apr"),
                      Catch::Contains("token_type"));
}

TEST_CASE("APR writer: never overwrites without permission and leaves nothing behind on failure") {
    test::TempDir dir;
    const auto target = dir / "m.apr";
    test::write_file(target, "precious");
    AprWriter w;
    const std::vector<std::byte> bytes(16);
    w.add_tensor("t", DType::F32, {4}, bytes);
    CHECK_THROWS_WITH(w.write(target, false), Catch::Contains("already exists") && Catch::Contains("--force"));
    CHECK(read_all(target) == "precious");

    AprWriter failing;
    failing.add_tensor("t", DType::F32, {4}, [](std::span<std::byte>) { throw Error(ErrorCode::cancelled, "stop"); });
    CHECK_THROWS_WITH(failing.write(target, true), Catch::Contains("stop"));
    CHECK(read_all(target) == "precious");
    size_t entries = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++entries;
    CHECK(entries == 1);  // no temporary file left

    w.write(target, true);
    CHECK(open_model_file(target)->tensors().size() == 1);
}

TEST_CASE("APR writer: rejects bad tensors") {
    AprWriter w;
    const std::vector<std::byte> bytes(16);
    CHECK_THROWS_WITH(w.add_tensor("t", DType::F32, {5}, bytes), Catch::Contains("needs 20 bytes"));
    CHECK_THROWS_WITH(w.add_tensor("", DType::F32, {4}, bytes), Catch::Contains("name"));
    CHECK_THROWS_WITH(w.add_tensor("q", DType::Q4_K, {4}, bytes), Catch::Contains("not a multiple of 256"));
    w.add_tensor("t", DType::F32, {4}, bytes);
    CHECK_THROWS_WITH(w.add_tensor("t", DType::F32, {4}, bytes), Catch::Contains("added twice"));
}
