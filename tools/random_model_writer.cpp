#include "random_model_writer.hpp"

#include "formats/gguf_writer.hpp"

namespace apr::tools {

uint64_t write_random_model(const std::filesystem::path& path, const Metadata& metadata,
                            const std::vector<PlannedTensor>& plan, uint64_t seed, KQuantizer k_quantizer) {
    formats::GgufWriter writer;
    // llama.cpp's own files start with general.architecture; readers that
    // dump metadata show it first.
    if (auto arch = metadata.find("general.architecture"); arch != metadata.end())
        writer.set(arch->first, arch->second);
    for (const auto& [key, value] : metadata)
        if (key != "general.architecture") writer.set(key, value);

    // Tensors are generated one after another (each one spread over all
    // threads) and handed to the writer, which keeps them until write().
    for (const auto& tensor : plan) {
        std::vector<std::byte> data(dtype_bytes(tensor.dtype, tensor.elements()));
        make_tensor_data(tensor, seed, data, k_quantizer);
        writer.add_tensor(tensor.name, tensor.dtype, tensor.shape, std::move(data));
    }
    return writer.write(path).file_size;
}

}  // namespace apr::tools
