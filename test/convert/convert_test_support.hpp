// Helpers of the conversion tests: greedy generation of the reference
// prompts, and byte comparison of two files' tensors.
#pragma once

#include <catch2/catch.hpp>

#include <cstring>

#include "../formats/temp_dir.hpp"
#include "../model/reference_cases.hpp"
#include "apr/generate.hpp"
#include "apr/model.hpp"
#include "apr/model_file.hpp"
#include "apr/session.hpp"
#include "apr/verify.hpp"
#include "support/meta_compare.hpp"

namespace apr::test {

inline std::filesystem::path nano_dir() { return fixtures_dir() / "nano"; }
inline std::filesystem::path nano_gguf(const std::string& name) { return nano_dir() / "gguf" / name; }

inline const std::vector<HfCase>& hf_cases() {
    static const std::vector<HfCase> cases = load_hf_cases();
    return cases;
}

// Greedy ids of the reference cases (up to max_tokens tokens, default session).
inline std::vector<std::vector<int32_t>> greedy_ids(const std::filesystem::path& model_path, size_t max_cases = 100,
                                                    int64_t max_tokens = 32) {
    auto model = Model::load(model_path, ModelParams{});
    Session session(*model);
    std::vector<std::vector<int32_t>> out;
    for (size_t i = 0; i < hf_cases().size() && i < max_cases; ++i) {
        session.reset();
        GenerateParams params;
        params.max_tokens = max_tokens;
        out.push_back(generate(session, hf_cases()[i].prompt_ids, params).tokens);
    }
    return out;
}

// Every tensor of `a` is in `b` with the same type, shape and bytes (and
// the counts match).
inline void check_same_tensors(const ModelFile& a, const ModelFile& b) {
    REQUIRE(a.tensors().size() == b.tensors().size());
    for (const TensorView& t : a.tensors()) {
        INFO("tensor " << t.name);
        const TensorView* u = b.find_tensor(t.name);
        REQUIRE(u != nullptr);
        CHECK(u->dtype == t.dtype);
        CHECK(u->shape == t.shape);
        REQUIRE(u->nbytes == t.nbytes);
        CHECK(std::memcmp(u->data, t.data, t.nbytes) == 0);
    }
}

}  // namespace apr::test
