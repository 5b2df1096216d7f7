// The one concrete ModelFile every reader fills: it owns the memory mappings
// the tensor views point into and gives the readers write access to the
// fields ModelFile keeps protected.
#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "apr/model_file.hpp"
#include "core/mapped_file.hpp"

namespace apr::formats {

class LoadedModelFile final : public ModelFile {
public:
    LoadedModelFile(FileFormat format, std::filesystem::path path) : ModelFile(format, std::move(path)) {}

    void keep_mapping(std::shared_ptr<const MappedFile> mapping) { mappings_.push_back(std::move(mapping)); }

    ModelConfig& mutable_config() { return config_; }
    std::vector<TensorView>& mutable_tensors() { return tensors_; }
    Metadata& mutable_metadata() { return metadata_; }
    TokenizerSummary& mutable_tokenizer_summary() { return tokenizer_summary_; }

    // Builds the canonical-name index; throws apr::Error(bad_format) naming
    // the file when two tensors end up with the same canonical name.
    void finish_tensors() { index_tensors(); }

private:
    std::vector<std::shared_ptr<const MappedFile>> mappings_;
};

}  // namespace apr::formats
