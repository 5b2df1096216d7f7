#include "formats/source_sniffer.hpp"

#include <cstdint>
#include <cstring>
#include <fstream>

#include "core/fail.hpp"

namespace apr::formats {

SourceKind sniff_source(const std::filesystem::path& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::file_status status = fs::status(path, ec);
    if (ec || !fs::exists(status)) fail(ErrorCode::not_found, "{}: no such file or directory", path.string());
    if (fs::is_directory(status)) {
        if (!fs::exists(path / "config.json", ec))
            fail(ErrorCode::not_found, "{}: directory has no config.json, so it is not a Hugging Face model",
                 path.string());
        return SourceKind::hf_directory;
    }
    const std::string name = path.filename().string();
    if (name.ends_with(".safetensors.index.json")) return SourceKind::safetensors_index;
    // The extension decides when present, so a damaged file gets the
    // specific complaint of its reader ("wrong magic") instead of "unknown".
    if (name.ends_with(".gguf")) return SourceKind::gguf;
    if (name.ends_with(".safetensors")) return SourceKind::safetensors;
    if (name.ends_with(".apr")) return SourceKind::apr;

    std::ifstream in(path, std::ios::binary);
    if (!in) fail(ErrorCode::io, "{}: cannot open for reading", path.string());
    unsigned char head[9] = {};
    in.read(reinterpret_cast<char*>(head), sizeof(head));
    const auto got = static_cast<size_t>(in.gcount());
    if (got >= 4 && std::memcmp(head, "GGUF", 4) == 0) return SourceKind::gguf;
    if (got >= 4 && std::memcmp(head, "APR", 4) == 0) return SourceKind::apr;  // "APR\0"
    if (got == 9) {
        uint64_t header_length = 0;
        std::memcpy(&header_length, head, 8);
        const auto file_size = fs::file_size(path, ec);
        if (!ec && header_length >= 2 && header_length <= file_size - 8 && head[8] == '{') return SourceKind::safetensors;
    }
    fail(ErrorCode::unsupported, "{}: unknown model format (not GGUF, APR, SafeTensors or a Hugging Face directory)",
         path.string());
}

}  // namespace apr::formats
