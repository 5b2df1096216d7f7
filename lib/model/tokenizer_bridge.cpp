#include "model/tokenizer_bridge.hpp"

#include <algorithm>
#include <array>

#include "apr/tokenizer.hpp"
#include "core/fail.hpp"

namespace apr::model {

std::shared_ptr<const Tokenizer> load_tokenizer(const ModelFile& file) {
    // A file without tokenizer data (a bare SafeTensors file, a GGUF without
    // tokenizer.ggml.*) still runs on token ids.
    const bool gguf_has_vocab = file.find_metadata("tokenizer.ggml.tokens") != nullptr;
    const bool has_json = file.format() != FileFormat::gguf &&
                          (std::filesystem::exists(file.path() / "tokenizer.json") ||
                           std::filesystem::exists(file.path().parent_path() / "tokenizer.json"));
    if (!gguf_has_vocab && !has_json) return nullptr;
    return Tokenizer::from_model_file(file);
}

std::vector<int32_t> tokenizer_end_ids(const Tokenizer& tok) {
    std::vector<int32_t> ids;
    if (auto eos = tok.eos_id()) ids.push_back(*eos);
    // End-of-turn / end-of-text control tokens of the Qwen, Llama 3 and
    // Llama 2 families: a model that emits one is done.
    static constexpr std::array<std::string_view, 7> kEndTokens = {
        "<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<|end_of_text|>", "<|eom_id|>", "<|end|>", "</s>"};
    for (std::string_view text : kEndTokens)
        if (auto id = tok.token_id(text); id && tok.is_control(*id)) ids.push_back(*id);
    return ids;
}

std::vector<int32_t> encode_prompt(const Model& model, std::string_view text, bool parse_special, bool at_start) {
    const Tokenizer* tok = model.tokenizer();
    if (tok == nullptr)
        fail(ErrorCode::unsupported, "{}: the model has no tokenizer; pass token ids instead of text",
             model.file().path().string());
    std::vector<int32_t> ids;
    if (at_start && tok->add_bos() && tok->bos_id()) ids.push_back(*tok->bos_id());
    const std::vector<int32_t> body = tok->encode(text, parse_special);
    ids.insert(ids.end(), body.begin(), body.end());
    return ids;
}

TextOutput make_text_output(const Model& model, std::vector<std::string> stop_strings) {
    const Tokenizer* tok = model.tokenizer();
    if (tok == nullptr)
        return TextOutput([](int32_t) { return std::string(); }, {}, std::move(stop_strings));
    // Control tokens (<|im_start|>, ...) have no text in the output.
    auto decoder = std::make_shared<StreamingDecoder>(*tok, /*skip_special=*/true);
    return TextOutput([decoder](int32_t id) { return decoder->push(id); }, [decoder] { return decoder->finish(); },
                      std::move(stop_strings));
}

}  // namespace apr::model
