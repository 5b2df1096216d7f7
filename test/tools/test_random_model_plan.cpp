// apr-make-random-model's tensor plan: the full Qwen2.5-Coder-1.5B Q4_K_M
// shape must match the official file (1.78 B parameters, 1.04 GiB, llama.cpp's
// Q4_K/Q6_K mix), and bad shapes must be refused by name.
#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <string>

#include "apr/error.hpp"
#include "tools/random_model_plan.hpp"

using namespace apr;
using namespace apr::tools;

namespace {

const PlannedTensor& find(const std::vector<PlannedTensor>& plan, const std::string& name) {
    for (const auto& t : plan)
        if (t.name == name) return t;
    FAIL("tensor " << name << " not in the plan");
    throw;
}

}  // namespace

TEST_CASE("use_more_bits picks llama.cpp's layers for 28 blocks") {
    // i < 28/8 (=3), i >= 7*28/8 (=24), or (i - 3) % 3 == 2.
    const std::set<int64_t> expected = {0, 1, 2, 5, 8, 11, 14, 17, 20, 23, 24, 25, 26, 27};
    std::set<int64_t> got;
    for (int64_t i = 0; i < 28; ++i)
        if (q4_k_m_uses_more_bits(i, 28)) got.insert(i);
    CHECK(got == expected);
}

TEST_CASE("the Q4_K_M plan reproduces the official Qwen2.5-Coder-1.5B file") {
    const auto plan = plan_random_model(Qwen2Shape{}, RandomModelType::q4_k_m);
    REQUIRE(plan.size() == 28 * 12 + 3);
    // 1,777,088,000 values: embeddings and output 2 x 151936 x 1536, 28 blocks
    // of 46,797,824, and the final norm. llama.cpp prints this as "1.78 B".
    CHECK(planned_elements(plan) == 1'777'088'000ull);

    std::map<DType, int> counts;
    for (const auto& t : plan) ++counts[t.dtype];
    CHECK(counts[DType::F32] == 28 * 5 + 1);      // 2 norms + 3 biases per block, output_norm
    CHECK(counts[DType::Q6_K] == 14 + 14 + 1);    // half of attn_v and ffn_down, output
    CHECK(counts[DType::Q4_K] == 28 * 7 - 28 + 1);  // the other weights and token_embd
    CHECK(counts.size() == 3);

    CHECK(find(plan, "token_embd.weight").dtype == DType::Q4_K);
    CHECK(find(plan, "token_embd.weight").shape == std::vector<int64_t>{151936, 1536});
    CHECK(find(plan, "output.weight").dtype == DType::Q6_K);
    CHECK(find(plan, "blk.0.attn_v.weight").dtype == DType::Q6_K);
    CHECK(find(plan, "blk.3.attn_v.weight").dtype == DType::Q4_K);
    CHECK(find(plan, "blk.5.ffn_down.weight").dtype == DType::Q6_K);
    CHECK(find(plan, "blk.6.ffn_down.weight").dtype == DType::Q4_K);
    CHECK(find(plan, "blk.27.ffn_down.weight").shape == std::vector<int64_t>{1536, 8960});
    CHECK(find(plan, "blk.4.attn_k.weight").shape == std::vector<int64_t>{256, 1536});
    CHECK(find(plan, "blk.4.attn_k.bias").shape == std::vector<int64_t>{256});
    CHECK(find(plan, "blk.4.attn_k.bias").init == InitKind::bias);
    CHECK(find(plan, "blk.4.ffn_norm.weight").init == InitKind::norm);

    // 1,111,370,240 bytes of tensor data = 1.0350 GiB; with the tokenizer
    // metadata the file is the official ~1.12e9 bytes ("1.04 GiB").
    CHECK(planned_data_bytes(plan) == 1'111'370'240ull);
}

TEST_CASE("a tied plan stores the embedding as llama.cpp stores a shared output") {
    Qwen2Shape shape;
    shape.separate_output = false;
    const auto plan = plan_random_model(shape, RandomModelType::q4_k_m);
    CHECK(plan.size() == 28 * 12 + 2);
    CHECK(find(plan, "token_embd.weight").dtype == DType::Q6_K);
    for (const auto& t : plan) CHECK(t.name != "output.weight");
}

TEST_CASE("Q8_0 and F16 plans use one type for every weight") {
    Qwen2Shape shape;
    shape.layers = 2;
    for (auto [type, dtype] : {std::pair{RandomModelType::q8_0, DType::Q8_0}, std::pair{RandomModelType::f16, DType::F16}}) {
        for (const auto& t : plan_random_model(shape, type)) {
            if (t.shape.size() == 1)
                CHECK(t.dtype == DType::F32);
            else
                CHECK(t.dtype == dtype);
        }
    }
    CHECK(random_model_file_type(RandomModelType::q4_k_m) == 15);
    CHECK(random_model_file_type(RandomModelType::q8_0) == 7);
    CHECK(random_model_file_type(RandomModelType::f16) == 1);
    CHECK(random_model_type_from_name("q4_k_m") == RandomModelType::q4_k_m);
    CHECK_FALSE(random_model_type_from_name("q4_k_s").has_value());
}

TEST_CASE("bad shapes are refused, naming the field") {
    auto message_of = [](Qwen2Shape shape, RandomModelType type) -> std::string {
        try {
            plan_random_model(shape, type);
        } catch (const Error& e) {
            CHECK(e.code() == ErrorCode::invalid_argument);
            return e.what();
        }
        return "no error";
    };
    Qwen2Shape s;
    s.layers = 0;
    CHECK_THAT(message_of(s, RandomModelType::f16), Catch::Contains("layers"));
    s = {};
    s.heads = 7;
    CHECK_THAT(message_of(s, RandomModelType::f16), Catch::Contains("heads 7"));
    s = {};
    s.intermediate = 8960 + 32;  // fine for Q8_0 blocks of 32, not for K-quant super-blocks of 256
    CHECK_NOTHROW(plan_random_model(s, RandomModelType::q8_0));
    CHECK_THAT(message_of(s, RandomModelType::q4_k_m), Catch::Contains("intermediate"));
}
