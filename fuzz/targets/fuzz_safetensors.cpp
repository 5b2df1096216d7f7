// libFuzzer target: the SafeTensors header parser alone (JSON header,
// dtypes, shapes, data offsets, overlaps). Any input may be rejected with
// apr::Error; nothing else may happen.
#include <cstddef>
#include <cstdint>

#include "apr/error.hpp"
#include "formats/safetensors_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        (void)apr::formats::parse_safetensors(reinterpret_cast<const std::byte*>(data), size, "fuzz.safetensors");
    } catch (const apr::Error&) {
    }
    return 0;
}
