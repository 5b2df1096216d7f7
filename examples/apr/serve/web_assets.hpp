// The chat page's files, compiled into the binary (web_assets.cpp is
// generated at build time by web/embed_assets.py from examples/apr/serve/web/).
#pragma once

#include <cstddef>
#include <span>

namespace apr::serve {

struct WebAsset {
    const char* url;           // "/" for index.html, else "/assets/NAME"
    const char* content_type;
    const char* data;
    size_t size;
    const char* etag;          // quoted, from the file's SHA-256
};

std::span<const WebAsset> web_assets();

}  // namespace apr::serve
