// hf:// URI parsing. The grammar follows huggingface_hub's HfFileSystem:
// hf://OWNER/REPO[@REVISION][/PATH], with a revision that contains '/'
// (refs/pr/1) written percent-encoded (refs%2Fpr%2F1).
#include <string>
#include <vector>

#include "apr/hub.hpp"
#include "core/fail.hpp"

namespace apr::hub {
namespace {

constexpr std::string_view kScheme = "hf://";

[[noreturn]] void malformed(std::string_view uri, std::string_view why) {
    fail(ErrorCode::invalid_argument,
         "malformed model URI '{}': {} (expected hf://OWNER/REPO, hf://OWNER/REPO/FILE or hf://OWNER/REPO@REVISION/FILE)",
         uri, why);
}

bool id_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.';
}

// The Hub's rule for owner and repository names: [A-Za-z0-9._-], at most 96
// characters, no "--" or "..", and no '-' or '.' at either end.
void check_id_part(std::string_view uri, std::string_view part, std::string_view what) {
    if (part.empty()) malformed(uri, fmt::format("the {} name is empty", what));
    if (part.size() > 96) malformed(uri, fmt::format("the {} name is longer than 96 characters", what));
    for (char c : part)
        if (!id_char(c))
            malformed(uri, fmt::format("the {} name '{}' has a character other than letters, digits, '-', '_' and '.'",
                                       what, part));
    if (part.find("--") != std::string_view::npos || part.find("..") != std::string_view::npos)
        malformed(uri, fmt::format("the {} name '{}' contains '--' or '..'", what, part));
    if (part.front() == '-' || part.front() == '.' || part.back() == '-' || part.back() == '.')
        malformed(uri, fmt::format("the {} name '{}' starts or ends with '-' or '.'", what, part));
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string percent_decode(std::string_view uri, std::string_view text) {
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        if (i + 2 >= text.size()) malformed(uri, "a '%' escape is cut short");
        const int hi = hex_value(text[i + 1]);
        const int lo = hex_value(text[i + 2]);
        if (hi < 0 || lo < 0) malformed(uri, "a '%' escape is not two hex digits");
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
    }
    return out;
}

void check_path_text(std::string_view uri, std::string_view text, std::string_view what) {
    for (unsigned char c : text)
        if (c < 0x20 || c == 0x7f || c == '\\')
            malformed(uri, fmt::format("the {} contains a control character or a backslash", what));
}

}  // namespace

std::string HubUri::str() const {
    std::string out = std::string(kScheme) + repo;
    if (revision != "main") {
        out += '@';
        for (char c : revision) out += c == '/' ? std::string("%2F") : std::string(1, c);
    }
    if (!file.empty()) out += "/" + file;
    return out;
}

bool is_hub_uri(std::string_view source) noexcept { return source.starts_with(kScheme); }

HubUri parse_uri(std::string_view uri) {
    if (!is_hub_uri(uri)) malformed(uri, "it does not start with hf://");
    std::string_view rest = uri.substr(kScheme.size());
    std::vector<std::string_view> parts;
    while (true) {
        const size_t slash = rest.find('/');
        parts.push_back(rest.substr(0, slash));
        if (slash == std::string_view::npos) break;
        rest = rest.substr(slash + 1);
    }
    if (parts.size() > 2 && parts.back().empty()) parts.pop_back();  // a trailing '/' names the repository
    if (parts.size() < 2 || parts[1].empty()) malformed(uri, "it needs both an owner and a repository name");

    HubUri out;
    std::string_view name = parts[1];
    if (const size_t at = name.find('@'); at != std::string_view::npos) {
        const std::string_view rev = name.substr(at + 1);
        name = name.substr(0, at);
        if (rev.empty()) malformed(uri, "the revision after '@' is empty");
        out.revision = percent_decode(uri, rev);
        out.revision_given = true;
        check_path_text(uri, out.revision, "revision");
        if (out.revision.find("..") != std::string::npos || out.revision.front() == '/' ||
            out.revision.back() == '/')
            malformed(uri, fmt::format("the revision '{}' is not a branch, tag or commit name", out.revision));
    } else {
        out.revision = "main";
    }
    check_id_part(uri, parts[0], "owner");
    check_id_part(uri, name, "repository");
    out.repo = std::string(parts[0]) + "/" + std::string(name);

    for (size_t i = 2; i < parts.size(); ++i) {
        const std::string_view part = parts[i];
        if (part.empty()) malformed(uri, "the file path has an empty segment ('//')");
        if (part == "." || part == "..") malformed(uri, "the file path has a '.' or '..' segment");
        check_path_text(uri, part, "file path");
        if (!out.file.empty()) out.file += '/';
        out.file += part;
    }
    return out;
}

}  // namespace apr::hub
