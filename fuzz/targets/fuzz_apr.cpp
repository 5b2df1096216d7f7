// libFuzzer target: the APR reader on arbitrary bytes: header, index,
// metadata JSON (config, tokenizer, typed source metadata) and footer.
// Any input may be rejected with apr::Error; nothing else may happen (no
// crash, no sanitizer report, no other exception).
#include <cstddef>
#include <cstdint>

#include "apr/error.hpp"
#include "formats/apr_metadata.hpp"
#include "formats/apr_reader.hpp"
#include "formats/loaded_model_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const auto* bytes = reinterpret_cast<const std::byte*>(data);
    try {
        const apr::formats::AprContents contents = apr::formats::parse_apr(bytes, size, "fuzz.apr");
        // What open_apr does with a parsed image: tensor views over the
        // bytes, then the metadata turned into config, GGUF-style keys and
        // the tokenizer summary.
        apr::formats::LoadedModelFile model(apr::FileFormat::apr, "fuzz.apr");
        for (const auto& t : contents.tensors) {
            apr::TensorView view;
            view.name = t.name;
            view.source_name = t.name;
            view.dtype = t.dtype;
            view.shape = t.shape;
            view.data = bytes + t.offset;
            view.nbytes = t.nbytes;
            model.mutable_tensors().push_back(std::move(view));
        }
        model.finish_tensors();
        apr::formats::apply_apr_metadata(model, contents.metadata_json, "fuzz.apr");
    } catch (const apr::Error&) {
    }
    try {
        apr::formats::verify_apr_footer(bytes, size, "fuzz.apr");
    } catch (const apr::Error&) {
    }
    // The metadata decoder alone, on the whole input as JSON text.
    try {
        (void)apr::formats::decode_apr_metadata(
            std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.apr");
    } catch (const apr::Error&) {
    }
    return 0;
}
