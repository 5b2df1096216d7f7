#include "core/sha256.hpp"

#include <openssl/evp.h>

#include <memory>

#include "core/fail.hpp"
#include "core/mapped_file.hpp"

namespace apr {

std::string sha256_file_hex(const std::filesystem::path& path) {
    const MappedFile file(path);
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    unsigned char digest[32];
    unsigned int length = 0;
    if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1 ||
        EVP_DigestUpdate(ctx.get(), file.data(), file.size()) != 1 ||
        EVP_DigestFinal_ex(ctx.get(), digest, &length) != 1 || length != sizeof(digest))
        fail(ErrorCode::internal, "{}: SHA-256 failed", path.string());
    static const char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned char b : digest) {
        out.push_back(hex[b >> 4]);
        out.push_back(hex[b & 15]);
    }
    return out;
}

}  // namespace apr
