#include "serve/web_ui.hpp"

#include <httplib.h>

#include "serve/web_assets.hpp"

namespace apr::serve {

namespace {

// The page runs only its own files: no inline script, no handler attributes,
// no other origin. The renderer already builds model text as text nodes
// (web/markdown.js); this policy is the second wall should that ever break.
constexpr const char* kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const WebAsset* find_asset(const std::string& path) {
    for (const WebAsset& a : web_assets())
        if (path == a.url) return &a;
    return nullptr;
}

}  // namespace

// Exactly the embedded files' paths: nothing else escapes the key check.
bool is_web_ui_path(const std::string& path) {
    return path == "/index.html" || find_asset(path) != nullptr;
}

void add_web_ui_routes(httplib::Server& server) {
    auto serve = [](const httplib::Request& req, httplib::Response& res) {
        const WebAsset* a = find_asset(req.path == "/index.html" ? std::string("/") : req.path);
        if (a == nullptr) {
            res.status = 404;  // the error handler writes the JSON body
            return;
        }
        res.set_header("ETag", a->etag);
        // Revalidate every time: a rebuilt server's page replaces the old one at once.
        res.set_header("Cache-Control", "no-cache");
        res.set_header("X-Content-Type-Options", "nosniff");
        res.set_header("Referrer-Policy", "no-referrer");
        if (req.path == "/" || req.path == "/index.html") {
            res.set_header("Content-Security-Policy", kContentSecurityPolicy);
            res.set_header("X-Frame-Options", "DENY");
        }
        if (req.get_header_value("If-None-Match") == a->etag) {
            res.status = 304;
            return;
        }
        res.set_content(a->data, a->size, a->content_type);
    };
    server.Get("/", serve);
    server.Get("/index.html", serve);
    server.Get(R"(/assets/[A-Za-z0-9_.-]+)", serve);
}

}  // namespace apr::serve
