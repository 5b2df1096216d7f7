// libFuzzer target: the APR reader on arbitrary bytes: header, index,
// metadata JSON (config, tokenizer, typed source metadata) and footer.
// Any input may be rejected with apr::Error; nothing else may happen (no
// crash, no sanitizer report, no other exception).
#include <cstddef>
#include <cstdint>

#include "apr/error.hpp"
#include "formats/apr_metadata.hpp"
#include "formats/apr_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const auto* bytes = reinterpret_cast<const std::byte*>(data);
    try {
        const apr::formats::AprContents contents = apr::formats::parse_apr(bytes, size, "fuzz.apr");
        (void)apr::formats::decode_apr_metadata(contents.metadata_json, "fuzz.apr");
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
