#include "hub/verify.hpp"

#include <openssl/evp.h>

#include <cctype>
#include <cstdio>
#include <memory>
#include <vector>

#include "core/fail.hpp"

namespace apr::hub {

std::optional<ExpectedDigest> parse_etag(const std::string& etag) {
    std::string text = etag;
    if (text.starts_with("W/")) text.erase(0, 2);
    if (text.size() >= 2 && text.front() == '"' && text.back() == '"') text = text.substr(1, text.size() - 2);
    for (char& c : text) {
        if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (text.size() == 64) return ExpectedDigest{ExpectedDigest::Kind::sha256, text};
    if (text.size() == 40) return ExpectedDigest{ExpectedDigest::Kind::git_sha1, text};
    return std::nullopt;
}

const char* digest_name(ExpectedDigest::Kind kind) {
    return kind == ExpectedDigest::Kind::sha256 ? "sha256" : "git blob sha1";
}

std::string file_digest(const std::filesystem::path& path, ExpectedDigest::Kind kind) {
    std::unique_ptr<FILE, int (*)(FILE*)> in(std::fopen(path.c_str(), "rb"), std::fclose);
    if (!in) fail(ErrorCode::io, "{}: cannot open to check its checksum", path.string());
    std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    const EVP_MD* md = kind == ExpectedDigest::Kind::sha256 ? EVP_sha256() : EVP_sha1();
    if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1)
        fail(ErrorCode::internal, "OpenSSL could not start a {} digest", digest_name(kind));
    if (kind == ExpectedDigest::Kind::git_sha1) {
        std::error_code ec;
        const auto size = std::filesystem::file_size(path, ec);
        if (ec) fail(ErrorCode::io, "{}: cannot read its size: {}", path.string(), ec.message());
        const std::string prefix = "blob " + std::to_string(size);
        EVP_DigestUpdate(ctx.get(), prefix.c_str(), prefix.size() + 1);  // with the '\0'
    }
    std::vector<unsigned char> buffer(1 << 20);
    size_t n;
    while ((n = std::fread(buffer.data(), 1, buffer.size(), in.get())) > 0) EVP_DigestUpdate(ctx.get(), buffer.data(), n);
    if (std::ferror(in.get())) fail(ErrorCode::io, "{}: read error while checking its checksum", path.string());
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_DigestFinal_ex(ctx.get(), digest, &length);
    std::string hex;
    for (unsigned i = 0; i < length; ++i) hex += fmt::format("{:02x}", digest[i]);
    return hex;
}

}  // namespace apr::hub
