// The chat page at `/` (docs/serve.md, "The chat page"): routes for the
// embedded files, and which paths are the page's (they need no API key: a
// browser cannot send one when it navigates; the page asks for the key and
// sends it with every API call).
#pragma once

#include <string>

namespace httplib {
class Server;
}

namespace apr::serve {

// True for "/", "/index.html" and "/assets/NAME" of an embedded file.
bool is_web_ui_path(const std::string& path);
void add_web_ui_routes(httplib::Server& server);

}  // namespace apr::serve
