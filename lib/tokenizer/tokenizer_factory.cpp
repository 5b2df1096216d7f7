// Where a Tokenizer comes from: GGUF metadata, a tokenizer.json (with its
// tokenizer_config.json), a Hugging Face directory, or a SafeTensors file's
// directory.
#include "apr/hub.hpp"
#include "apr/model_file.hpp"
#include "core/fail.hpp"
#include "core/read_file.hpp"
#include "tokenizer/tokenizer_spec.hpp"

namespace apr {
namespace {

namespace fs = std::filesystem;

std::unique_ptr<Tokenizer> from_tokenizer_json_file(const fs::path& json_path) {
    std::error_code ec;
    if (!fs::is_regular_file(json_path, ec))
        fail(ErrorCode::not_found, "{}: no such file (looking for the Hugging Face tokenizer)", json_path.string());
    const std::string json = read_whole_file(json_path);
    const fs::path config_path = json_path.parent_path() / "tokenizer_config.json";
    const std::string config = fs::is_regular_file(config_path, ec) ? read_whole_file(config_path) : std::string();
    return Tokenizer::from_tokenizer_json(json, config, json_path.string());
}

}  // namespace

std::unique_ptr<Tokenizer> Tokenizer::from_tokenizer_json(std::string_view tokenizer_json,
                                                          std::string_view tokenizer_config_json,
                                                          std::string_view source) {
    return tokenizer::build_tokenizer(tokenizer::parse_tokenizer_json(tokenizer_json, tokenizer_config_json, source));
}

std::unique_ptr<Tokenizer> Tokenizer::from_model_file(const ModelFile& model) {
    switch (model.format()) {
        case FileFormat::hf_directory: return from_tokenizer_json_file(model.path() / "tokenizer.json");
        case FileFormat::safetensors: return from_tokenizer_json_file(model.path().parent_path() / "tokenizer.json");
        case FileFormat::gguf:
        case FileFormat::apr: break;
    }
    return tokenizer::build_tokenizer(tokenizer::parse_gguf_tokenizer(model.metadata(), model.path().string()));
}

std::unique_ptr<Tokenizer> Tokenizer::from_file(const fs::path& source) {
    const fs::path path = hub::resolve_source(source);  // hf:// URIs: the cached download
    std::error_code ec;
    if (fs::is_directory(path, ec)) return from_tokenizer_json_file(path / "tokenizer.json");
    const std::string extension = path.extension().string();
    if (extension == ".json") return from_tokenizer_json_file(path);
    if (extension == ".safetensors") return from_tokenizer_json_file(path.parent_path() / "tokenizer.json");
    return from_model_file(*open_model_file(path));
}

}  // namespace apr
