// Checks shared by the inspect tests: an `apr inspect --json` object against
// the config a model is known to have, and running a command for its output.
#pragma once

#include <catch2/catch.hpp>
#include <simdjson.h>

#include <string>

#include "support/shell.hpp"

namespace apr::test {

struct Expected {
    std::string path;
    std::string format;
    int64_t tensor_count;
    int64_t hidden, layers, heads, kv_heads, head_dim, ffn, vocab, context;
    bool tied;
    int64_t tokenizer_vocab;
};

inline void check_inspect(const std::string& json_text, const Expected& x) {
    simdjson::dom::parser parser;
    simdjson::dom::element doc = parser.parse(simdjson::padded_string(json_text));
    CHECK(std::string_view(doc["format"]) == x.format);
    CHECK(std::string_view(doc["architecture"]) == "qwen2");
    const auto config = doc["config"];
    CHECK(int64_t(config["hidden_size"]) == x.hidden);
    CHECK(int64_t(config["num_layers"]) == x.layers);
    CHECK(int64_t(config["num_heads"]) == x.heads);
    CHECK(int64_t(config["num_kv_heads"]) == x.kv_heads);
    CHECK(int64_t(config["head_dim"]) == x.head_dim);
    CHECK(int64_t(config["intermediate_size"]) == x.ffn);
    CHECK(int64_t(config["vocab_size"]) == x.vocab);
    CHECK(double(config["rope_theta"]) == 1e6);
    CHECK(double(config["rms_norm_eps"]) == 1e-6);
    CHECK(bool(config["tied_embeddings"]) == x.tied);
    CHECK(int64_t(config["context_length"]) == x.context);
    const auto tokenizer = doc["tokenizer"];
    CHECK(std::string_view(tokenizer["model"]) == "gpt2");
    CHECK(std::string_view(tokenizer["pre_tokenizer"]) == "qwen2");
    CHECK(int64_t(tokenizer["vocab_size"]) == x.tokenizer_vocab);
    CHECK(bool(tokenizer["chat_template"]));
    CHECK(int64_t(tokenizer["special_tokens"]["eos"]) == (x.hidden == 512 ? 2018 : 151645));
    CHECK(int64_t(doc["tensor_count"]) == x.tensor_count);
    simdjson::dom::array tensors = doc["tensors"];
    CHECK(static_cast<int64_t>(tensors.size()) == x.tensor_count);
    bool saw_embedding = false;
    for (simdjson::dom::element t : tensors) {
        const std::string_view name = t["name"];
        std::string_view type = t["type"];
        CHECK(!type.empty());
        simdjson::dom::array shape = t["shape"];
        CHECK((shape.size() == 1 || shape.size() == 2));
        CHECK(int64_t(t["bytes"]) > 0);
        if (name == "token_embd.weight") {
            saw_embedding = true;
            CHECK(int64_t(shape.at(0)) == x.vocab);
            CHECK(int64_t(shape.at(1)) == x.hidden);
        }
    }
    CHECK(saw_embedding == (x.tensor_count > 0));
}

inline std::string run_and_capture(const std::string& command) {
    const ShellResult r = run_shell(command);
    CHECK(r.status == 0);
    return r.out;
}

}  // namespace apr::test
