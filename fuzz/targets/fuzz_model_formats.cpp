// libFuzzer target: the GGUF and SafeTensors parsers on arbitrary bytes.
// Any input may be rejected with apr::Error; nothing else may happen (no
// crash, no sanitizer report, no other exception).
#include <cstddef>
#include <cstdint>

#include "apr/error.hpp"
#include "formats/gguf_reader.hpp"
#include "formats/safetensors_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const auto* bytes = reinterpret_cast<const std::byte*>(data);
    try {
        (void)apr::formats::parse_gguf(bytes, size, "fuzz.gguf");
    } catch (const apr::Error&) {
    }
    try {
        (void)apr::formats::parse_safetensors(bytes, size, "fuzz.safetensors");
    } catch (const apr::Error&) {
    }
    return 0;
}
