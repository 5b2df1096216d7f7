#include "random_model_metadata.hpp"

#include <fmt/format.h>

#include "core/fail.hpp"
#include "formats/gguf_writer.hpp"

namespace apr::tools {

namespace {

int64_t required_int(const ModelFile& file, const std::string& key) {
    const MetaValue* value = file.find_metadata(key);
    const auto number = value ? meta_int(*value) : std::nullopt;
    if (!number) fail(ErrorCode::bad_format, "{}: metadata '{}' is missing or not an integer", file.path().string(), key);
    return *number;
}

double required_float(const ModelFile& file, const std::string& key) {
    const MetaValue* value = file.find_metadata(key);
    const auto number = value ? meta_float(*value) : std::nullopt;
    if (!number) fail(ErrorCode::bad_format, "{}: metadata '{}' is missing or not a number", file.path().string(), key);
    return *number;
}

}  // namespace

Qwen2Shape shape_from_vocab_file(const ModelFile& file) {
    const MetaValue* arch = file.find_metadata("general.architecture");
    const std::string* arch_name = arch ? meta_string(*arch) : nullptr;
    if (!arch_name || *arch_name != "qwen2")
        fail(ErrorCode::unsupported, "{}: general.architecture must be 'qwen2'", file.path().string());
    const MetaValue* tokens = file.find_metadata("tokenizer.ggml.tokens");
    const MetaArray* token_list = tokens ? meta_array(*tokens) : nullptr;
    if (!token_list || token_list->empty())
        fail(ErrorCode::bad_format, "{}: metadata 'tokenizer.ggml.tokens' is missing or empty", file.path().string());
    Qwen2Shape s;
    s.hidden = required_int(file, "qwen2.embedding_length");
    s.layers = required_int(file, "qwen2.block_count");
    s.heads = required_int(file, "qwen2.attention.head_count");
    s.kv_heads = required_int(file, "qwen2.attention.head_count_kv");
    s.intermediate = required_int(file, "qwen2.feed_forward_length");
    s.context = required_int(file, "qwen2.context_length");
    s.rope_theta = required_float(file, "qwen2.rope.freq_base");
    s.rms_eps = required_float(file, "qwen2.attention.layer_norm_rms_epsilon");
    s.vocab = static_cast<int64_t>(token_list->size());
    return s;
}

namespace {
void write_shape(Metadata& meta, const Qwen2Shape& shape) {
    auto u32 = [](int64_t v) { return formats::meta_u32(static_cast<uint32_t>(v)); };
    meta["qwen2.block_count"] = u32(shape.layers);
    meta["qwen2.context_length"] = u32(shape.context);
    meta["qwen2.embedding_length"] = u32(shape.hidden);
    meta["qwen2.feed_forward_length"] = u32(shape.intermediate);
    meta["qwen2.attention.head_count"] = u32(shape.heads);
    meta["qwen2.attention.head_count_kv"] = u32(shape.kv_heads);
    meta["qwen2.rope.freq_base"] = formats::meta_f32(static_cast<float>(shape.rope_theta));
    meta["qwen2.attention.layer_norm_rms_epsilon"] = formats::meta_f32(static_cast<float>(shape.rms_eps));
}
}  // namespace

Metadata tokenizerless_model_metadata(const Qwen2Shape& shape, RandomModelType type, int64_t seed) {
    Metadata meta;
    meta["general.architecture"] = formats::meta_string_value("qwen2");
    meta["general.name"] = formats::meta_string_value(
        fmt::format("tiny Qwen2-shaped random weights (seed {}, {}, no tokenizer)", seed, random_model_type_name(type)));
    meta["general.type"] = formats::meta_string_value("model");
    meta["general.file_type"] = formats::meta_u32(random_model_file_type(type));
    meta["general.quantization_version"] = formats::meta_u32(2);
    write_shape(meta, shape);
    return meta;
}

Qwen2Shape tiny_shape(int64_t context) {
    Qwen2Shape s;
    s.hidden = 64;
    s.layers = 2;
    s.heads = 2;
    s.kv_heads = 1;
    s.intermediate = 128;
    s.vocab = 512;
    s.context = context;
    s.separate_output = false;
    return s;
}

Metadata random_model_metadata(const ModelFile& vocab, const Qwen2Shape& shape, RandomModelType type, int64_t seed) {
    Metadata meta = vocab.metadata();
    meta["general.name"] = formats::meta_string_value(fmt::format("Qwen2.5-Coder-1.5B-shaped random weights (seed {}, {})", seed,
                                                random_model_type_name(type)));
    meta["general.type"] = formats::meta_string_value("model");
    meta["general.file_type"] = formats::meta_u32(random_model_file_type(type));
    meta["general.quantization_version"] = formats::meta_u32(2);
    // The hyperparameters are rewritten from `shape` (the same values unless
    // the caller changed the shape, e.g. --layers), so metadata and tensors agree.
    write_shape(meta, shape);
    return meta;
}

}  // namespace apr::tools
