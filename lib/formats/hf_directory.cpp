#include "formats/hf_directory.hpp"

#include <vector>

#include "core/fail.hpp"
#include "formats/hf_config.hpp"
#include "formats/hf_tokenizer_summary.hpp"
#include "formats/loaded_model_file.hpp"
#include "formats/safetensors_reader.hpp"

namespace apr::formats {

std::unique_ptr<ModelFile> open_hf_directory(const std::filesystem::path& folder) {
    namespace fs = std::filesystem;
    auto model = std::make_unique<LoadedModelFile>(FileFormat::hf_directory, folder);
    HfConfig config = read_hf_config(folder);

    std::error_code ec;
    if (fs::exists(folder / "model.safetensors.index.json", ec)) {
        append_safetensors_index(*model, folder / "model.safetensors.index.json");
    } else if (fs::exists(folder / "model.safetensors", ec)) {
        append_safetensors(*model, folder / "model.safetensors");
    } else {
        std::vector<fs::path> candidates;
        for (const auto& entry : fs::directory_iterator(folder, ec))
            if (entry.path().extension() == ".safetensors") candidates.push_back(entry.path());
        if (candidates.size() > 1)
            fail(ErrorCode::bad_format, "{}: {} .safetensors files but no model.safetensors.index.json to say which "
                 "tensors each holds", folder.string(), candidates.size());
        if (candidates.size() == 1) append_safetensors(*model, candidates.front());
    }
    model->finish_tensors();
    apply_tensor_facts(config, *model);
    model->mutable_config() = std::move(config.config);
    model->mutable_tokenizer_summary() = tokenizer_summary_from_hf(folder);
    return model;
}

}  // namespace apr::formats
