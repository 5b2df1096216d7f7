// Byte-level BPE tokenization (GPT-2 style, as used by Qwen2/2.5, Llama 3
// and GPT-2), agreeing token for token with Hugging Face `tokenizers`.
//
//   auto tok = apr::Tokenizer::from_file("qwen2.5-vocab.gguf");   // or tokenizer.json / HF dir
//   std::vector<int32_t> ids = tok->encode("<|im_start|>user\nHi<|im_end|>");
//   std::string text = tok->decode(ids);
//
// Pipeline of encode(): added tokens (special and user-defined) are cut out
// of the text first and become their ids; every stretch between them is NFC
// normalized (when the tokenizer says so), split into words by the model's
// pre-tokenizer regex (qwen2, llama-bpe or gpt2), mapped to GPT-2's
// byte-level alphabet and merged by BPE rank. No BOS is added: callers check
// add_bos() and prepend bos_id() themselves.
//
// Input bytes that are not valid UTF-8 are kept as single raw bytes (each is
// its own character with no Unicode class), so they encode to their byte
// tokens and decode_bytes() returns them unchanged.
//
// Thread-safety: a Tokenizer is immutable after construction except for an
// internal, internally locked cache of word encodings; every const member may
// be called from many threads at once. A StreamingDecoder is used by one
// thread at a time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "apr/export.hpp"

namespace apr {

class ModelFile;

class APR_API Tokenizer {
public:
    // From an opened model: GGUF metadata (`tokenizer.ggml.*`); for a Hugging
    // Face directory its tokenizer.json (+ tokenizer_config.json); for a
    // SafeTensors file the tokenizer.json beside it.
    static std::unique_ptr<Tokenizer> from_model_file(const ModelFile& model);
    // From a path: a GGUF file, a tokenizer.json (tokenizer_config.json beside
    // it is read too when present), or a Hugging Face directory.
    static std::unique_ptr<Tokenizer> from_file(const std::filesystem::path& path);
    // From the text of a tokenizer.json and, optionally, tokenizer_config.json;
    // `source` names them in error messages.
    static std::unique_ptr<Tokenizer> from_tokenizer_json(std::string_view tokenizer_json,
                                                          std::string_view tokenizer_config_json = {},
                                                          std::string_view source = "tokenizer.json");

    ~Tokenizer();
    Tokenizer(const Tokenizer&) = delete;
    Tokenizer& operator=(const Tokenizer&) = delete;

    // Token ids of `text`. With parse_special, control (special) tokens written
    // in the text become their ids; without it they are tokenized as plain
    // text. User-defined added tokens are always matched, as in Hugging Face.
    std::vector<int32_t> encode(std::string_view text, bool parse_special = true) const;

    // Text of `ids`: the bytes of each token, with invalid UTF-8 replaced by
    // U+FFFD (as Hugging Face does). skip_special leaves control tokens out.
    // Throws apr::Error(invalid_argument) naming the first id outside
    // [0, vocab_size()).
    std::string decode(std::span<const int32_t> ids, bool skip_special = false) const;
    // The raw bytes of `ids`, without UTF-8 repair.
    std::string decode_bytes(std::span<const int32_t> ids, bool skip_special = false) const;

    // The vocabulary entry of `id` as stored (byte-level text such as "Ġthe"
    // for ordinary tokens; added tokens as written). Throws for a bad id.
    std::string_view token_text(int32_t id) const;
    // The id of a vocabulary entry written as token_text() returns it.
    std::optional<int32_t> token_id(std::string_view piece) const;

    // Number of ids (GGUF files may include unused padding entries).
    int64_t vocab_size() const;
    std::optional<int32_t> bos_id() const;
    std::optional<int32_t> eos_id() const;
    std::optional<int32_t> pad_id() const;
    // Whether the model expects bos_id() before the prompt.
    bool add_bos() const;
    // Control tokens: the special tokens of Hugging Face (<|im_start|>, ...).
    bool is_control(int32_t id) const;
    // Added tokens that are matched whole in text (control and user-defined).
    bool is_added(int32_t id) const;
    // "qwen2", "llama-bpe" or "gpt2".
    std::string_view pre_tokenizer() const;

    struct Impl;
    explicit Tokenizer(std::unique_ptr<Impl> impl);

private:
    std::unique_ptr<Impl> impl_;
};

// Turns generated ids into text as they arrive, emitting only complete UTF-8
// characters: a character whose bytes are spread over several tokens comes
// out whole with the token that completes it. Invalid bytes become U+FFFD as
// soon as they cannot start a valid character; the concatenation of all
// push() results and finish() equals Tokenizer::decode of the same ids.
class APR_API StreamingDecoder {
public:
    explicit StreamingDecoder(const Tokenizer& tokenizer, bool skip_special = false);
    // Text completed by `id` (possibly empty). Throws like decode() for a bad id.
    std::string push(int32_t id);
    // What is left (an incomplete trailing sequence, as U+FFFD); resets.
    std::string finish();

private:
    const Tokenizer* tokenizer_;
    bool skip_special_;
    std::string pending_;
};

}  // namespace apr
