// APR v2: libapr's single-file model format, laid out as the aprender
// project's APR v2 (docs/apr-format.md is the specification):
//
//   offset 0   header, 64 bytes, little-endian:
//              0  magic "APR\0"        4  u8 major = 2, u8 minor = 0
//              6  u16 flags (0)        8  u32 tensor count
//              12 u64 metadata offset  20 u32 metadata size (bytes of JSON)
//              24 u64 tensor index offset
//              32 u64 data offset      40 u32 CRC-32 of bytes 0..40 and 44..64
//              44 20 reserved zero bytes
//   64         metadata: one JSON object, zero-padded to a multiple of 64
//              tensor index, sorted by name (bytewise), one entry per tensor:
//              u16 name length, name (UTF-8), u8 dtype (GGML id), u8 ndim,
//              ndim x u64 dims (outermost first), u64 offset (from the data
//              offset, a multiple of 64), u64 size in bytes
//              zero padding to 64
//   data       tensor bytes, each tensor starting 64-byte aligned
//   size - 4   u32 CRC-32 of every byte before it
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace apr::formats {

inline constexpr char kAprMagic[4] = {'A', 'P', 'R', '\0'};
inline constexpr uint8_t kAprVersionMajor = 2;
inline constexpr uint8_t kAprVersionMinor = 0;
inline constexpr size_t kAprHeaderSize = 64;
inline constexpr size_t kAprAlignment = 64;
inline constexpr size_t kAprFooterSize = 4;
inline constexpr size_t kAprChecksumOffset = 40;
inline constexpr uint32_t kAprMaxMetadataBytes = 256u << 20;  // 256 MiB: the largest tokenizers need ~30 MB
inline constexpr uint32_t kAprMaxDims = 8;
inline constexpr uint16_t kAprKnownFlags = 0;  // no compression, encryption or sharding in this version

struct AprHeader {
    uint8_t major = kAprVersionMajor;
    uint8_t minor = kAprVersionMinor;
    uint16_t flags = 0;
    uint32_t tensor_count = 0;
    uint64_t metadata_offset = kAprHeaderSize;
    uint32_t metadata_size = 0;
    uint64_t tensor_index_offset = 0;
    uint64_t data_offset = 0;
    uint32_t checksum = 0;
};

// CRC-32 of the 64 header bytes with the checksum field (bytes 40..44) left out.
uint32_t apr_header_crc(const std::byte* header);

inline constexpr size_t apr_align(size_t n) { return (n + kAprAlignment - 1) / kAprAlignment * kAprAlignment; }

}  // namespace apr::formats
