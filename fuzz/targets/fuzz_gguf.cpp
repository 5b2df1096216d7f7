// libFuzzer target: the GGUF parser alone (header, metadata of every type,
// tensor table, data ranges) and the config read from its metadata. Any
// input may be rejected with apr::Error; nothing else may happen.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "apr/error.hpp"
#include "formats/gguf_config.hpp"
#include "formats/gguf_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        const auto contents = apr::formats::parse_gguf(reinterpret_cast<const std::byte*>(data), size, "fuzz.gguf");
        // Tensor views without data: the config reader only looks at names and shapes.
        std::vector<apr::TensorView> views;
        for (const auto& t : contents.tensors) {
            apr::TensorView v;
            v.name = t.name;
            v.shape = t.shape;
            v.dtype = t.dtype;
            views.push_back(std::move(v));
        }
        (void)apr::formats::config_from_gguf(contents.metadata, views, "fuzz.gguf");
        (void)apr::formats::tokenizer_summary_from_gguf(contents.metadata, "fuzz.gguf");
    } catch (const apr::Error&) {
    }
    return 0;
}
