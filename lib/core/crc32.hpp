// CRC-32 (IEEE 802.3, the zlib / PNG / gzip polynomial, reflected 0xEDB88320):
// the checksum of APR headers and footers. Incremental, so a writer can
// checksum a file while streaming it and a reader can check a mapping of any
// size without a copy.
//
//   uint32_t c = apr::crc32_update(0, bytes.data(), bytes.size());
//   c = apr::crc32_update(c, more.data(), more.size());   // == crc32 of both
#pragma once

#include <cstddef>
#include <cstdint>

namespace apr {

// Continues the CRC-32 `crc` (0 for the empty input) over `size` more bytes.
uint32_t crc32_update(uint32_t crc, const void* data, size_t size) noexcept;

inline uint32_t crc32(const void* data, size_t size) noexcept { return crc32_update(0, data, size); }

}  // namespace apr
