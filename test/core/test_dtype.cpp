#include <catch2/catch.hpp>

#include "apr/dtype.hpp"
#include "apr/error.hpp"

using apr::DType;

TEST_CASE("dtype traits follow GGUF's block layouts") {
    struct Expect {
        DType type;
        int64_t block;
        size_t bytes;
    };
    const Expect expected[] = {
        {DType::F32, 1, 4},     {DType::F16, 1, 2},     {DType::BF16, 1, 2},   {DType::Q4_0, 32, 18},
        {DType::Q4_1, 32, 20},  {DType::Q5_0, 32, 22},  {DType::Q5_1, 32, 24}, {DType::Q8_0, 32, 34},
        {DType::Q4_K, 256, 144}, {DType::Q5_K, 256, 176}, {DType::Q6_K, 256, 210}, {DType::Q8_K, 256, 292},
    };
    for (const auto& e : expected) {
        const apr::DTypeInfo* info = apr::dtype_info(e.type);
        REQUIRE(info != nullptr);
        CHECK(info->block_elements == e.block);
        CHECK(info->block_bytes == e.bytes);
    }
}

TEST_CASE("dtype names round-trip, case-insensitively") {
    CHECK(apr::dtype_from_name("q4_k") == DType::Q4_K);
    CHECK(apr::dtype_from_name("BF16") == DType::BF16);
    CHECK_FALSE(apr::dtype_from_name("Q9_9").has_value());
    CHECK(apr::dtype_name(DType::Q6_K) == "Q6_K");
    CHECK(apr::dtype_info_from_id(4) == nullptr);  // removed ggml type id
}

TEST_CASE("dtype_bytes rejects partial blocks") {
    CHECK(apr::dtype_bytes(DType::Q4_K, 512) == 288);
    CHECK(apr::dtype_bytes(DType::F16, 3) == 6);
    CHECK_THROWS_AS(apr::dtype_bytes(DType::Q4_K, 100), apr::Error);
    CHECK_THROWS_AS(apr::dtype_bytes(static_cast<DType>(77), 32), apr::Error);
}
