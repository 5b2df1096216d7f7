// Where the model code meets the tokenizer: loading it with the model,
// the end-of-generation ids it adds, prompt encoding and streaming decode.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "apr/model.hpp"
#include "model/text_output.hpp"

namespace apr::model {

// The tokenizer the file describes; null when it has none.
std::shared_ptr<const Tokenizer> load_tokenizer(const ModelFile& file);
// The tokenizer's eos and end-of-turn control tokens (<|im_end|>, <|endoftext|>, <|eot_id|>, ...).
std::vector<int32_t> tokenizer_end_ids(const Tokenizer& tokenizer);
// Throws apr::Error(unsupported) when the model has no tokenizer. BOS goes
// first when the tokenizer asks for it and at_start (an empty session).
std::vector<int32_t> encode_prompt(const Model& model, std::string_view text, bool parse_special, bool at_start);
// Text output decoding with the model's tokenizer (no text without one).
TextOutput make_text_output(const Model& model, std::vector<std::string> stop_strings);

}  // namespace apr::model
