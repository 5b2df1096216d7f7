// The fixtures' reference outputs (reference_hf.json, reference_llama_cpp.json)
// parsed with simdjson, for the model tests.
#pragma once

#include <simdjson.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "support/fixtures.hpp"

namespace apr::test {

struct HfCase {
    std::string kind;  // "chat" or "raw"
    std::string prompt_text;
    std::vector<int32_t> prompt_ids;
    std::vector<float> last_logits;
    std::vector<int32_t> top10_ids;
    std::vector<int32_t> greedy_ids;
    std::string greedy_text;
    std::vector<std::vector<std::vector<float>>> hidden_states;  // [stage][position][hidden]
};

inline std::vector<HfCase> load_hf_cases() {
    simdjson::dom::parser parser;
    const simdjson::padded_string json =
        simdjson::padded_string::load((fixtures_dir() / "nano" / "reference_hf.json").string());
    simdjson::dom::element root = parser.parse(json);
    std::vector<HfCase> cases;
    for (simdjson::dom::element c : root["cases"].get_array()) {
        HfCase h;
        h.kind = std::string(std::string_view(c["kind"]));
        h.prompt_text = std::string(std::string_view(c["prompt_text"]));
        for (int64_t id : c["prompt_ids"].get_array()) h.prompt_ids.push_back(static_cast<int32_t>(id));
        for (double v : c["last_logits"].get_array()) h.last_logits.push_back(static_cast<float>(v));
        for (int64_t id : c["top10_ids"].get_array()) h.top10_ids.push_back(static_cast<int32_t>(id));
        for (int64_t id : c["greedy_ids"].get_array()) h.greedy_ids.push_back(static_cast<int32_t>(id));
        h.greedy_text = std::string(std::string_view(c["greedy_text"]));
        simdjson::dom::array hidden;
        if (c["hidden_states"].get(hidden) == simdjson::SUCCESS) {
            for (simdjson::dom::element stage : hidden) {
                auto& rows = h.hidden_states.emplace_back();
                for (simdjson::dom::element row : stage.get_array()) {
                    auto& values = rows.emplace_back();
                    for (double v : row.get_array()) values.push_back(static_cast<float>(v));
                }
            }
        }
        cases.push_back(std::move(h));
    }
    return cases;
}

struct LlamaCppCase {
    std::string prompt_text;
    std::string text;  // llama.cpp's greedy output without the end token
    bool match_hf;
};

// file name ("nano-q4_k_m.gguf") -> cases in the order of reference_hf.json
inline std::map<std::string, std::vector<LlamaCppCase>> load_llama_cpp_cases() {
    simdjson::dom::parser parser;
    const simdjson::padded_string json =
        simdjson::padded_string::load((fixtures_dir() / "nano" / "reference_llama_cpp.json").string());
    std::map<std::string, std::vector<LlamaCppCase>> out;
    for (auto [file, cases] : parser.parse(json).get_object()) {
        auto& list = out[std::string(file)];
        for (simdjson::dom::element c : cases.get_array())
            list.push_back({std::string(std::string_view(c["prompt_text"])),
                            std::string(std::string_view(c["llama_cpp_text"])), bool(c["match_hf"])});
    }
    return out;
}

// Natural-log softmax in double.
inline std::vector<double> log_softmax(const std::vector<float>& logits) {
    double max = -INFINITY;
    for (float v : logits) max = std::max(max, static_cast<double>(v));
    double sum = 0;
    for (float v : logits) sum += std::exp(v - max);
    const double lse = max + std::log(sum);
    std::vector<double> out;
    out.reserve(logits.size());
    for (float v : logits) out.push_back(v - lse);
    return out;
}

}  // namespace apr::test
