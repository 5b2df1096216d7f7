// What apr-make-random-model takes from the vocab-only GGUF of the real model
// (fixtures/qwen2.5-tokenizer/qwen2.5-vocab.gguf, written by llama.cpp): its
// hyperparameters, and all of its metadata, tokenizer included, for the
// output, so llama.cpp and libapr load the random model as a normal one.
#pragma once

#include <cstdint>

#include "apr/model_file.hpp"
#include "random_model_plan.hpp"

namespace apr::tools {

// The qwen2.* hyperparameters, with vocab = the number of tokenizer.ggml.tokens
// (the real file pads them to the embedding's 151936 rows). Read rather than
// repeated here, so the random model follows whatever file it is given.
// Throws apr::Error naming the file and key (unsupported for another
// architecture, bad_format for a missing or mistyped key).
Qwen2Shape shape_from_vocab_file(const ModelFile& vocab);

// The vocab file's metadata with the keys that describe the new file
// replaced: general.name (says random, seed and type), general.type,
// general.file_type, general.quantization_version, and the qwen2.*
// hyperparameters, written from `shape` (as u32 and f32, like llama.cpp).
// Call validate_shape (or plan_random_model) on `shape` first.
Metadata random_model_metadata(const ModelFile& vocab, const Qwen2Shape& shape, RandomModelType type, int64_t seed);

// Metadata of a model with no tokenizer (prompts are token ids): the qwen2.*
// hyperparameters of `shape` and the general.* keys, nothing from a vocab
// file. For tiny test models of any vocabulary size and context length.
Metadata tokenizerless_model_metadata(const Qwen2Shape& shape, RandomModelType type, int64_t seed);

// A tiny Qwen2 shape (2 layers, hidden 64, 2 heads of 32 sharing one KV
// head, vocab 512) with the given context length: fast enough that tests can
// run 30,000-token prompts through it in seconds.
Qwen2Shape tiny_shape(int64_t context);

}  // namespace apr::tools
