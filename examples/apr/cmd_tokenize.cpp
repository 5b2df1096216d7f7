// apr tokenize SOURCE TEXT [--no-special] [--json]: the token ids of a text.
// apr detokenize SOURCE ID... [--skip-special]: the text of token ids.
// SOURCE is a GGUF file, a tokenizer.json or a Hugging Face model folder.
#include <fmt/core.h>

#include <charconv>

#include "apr/tokenizer.hpp"
#include "commands.hpp"
#include "flags.hpp"

namespace apr::cli {
namespace {

int32_t parse_id(const std::string& text) {
    int64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || value < INT32_MIN || value > INT32_MAX)
        throw UsageError(fmt::format("'{}' is not a token id (an integer)", text));
    return static_cast<int32_t>(value);
}

}  // namespace

int cmd_tokenize(const Args& args) {
    Flags flags("apr tokenize", "SOURCE TEXT [--no-special] [--json]",
                "Print the token ids of TEXT, space separated. SOURCE is a GGUF file, a tokenizer.json or a\n"
                "Hugging Face model folder. Special tokens written in TEXT (<|im_start|>, ...) become their ids\n"
                "unless --no-special is given. No BOS is added.");
    bool no_special = false;
    bool json = false;
    flags.add("--no-special", &no_special, "tokenize special tokens in TEXT as plain text");
    flags.add("--json", &json, "print a JSON array");
    const std::vector<std::string> positional = flags.parse(args);
    if (positional.size() != 2) throw UsageError("expected SOURCE and TEXT");
    const auto tokenizer = Tokenizer::from_file(positional[0]);
    const std::vector<int32_t> ids = tokenizer->encode(positional[1], !no_special);
    std::string out = json ? "[" : "";
    for (size_t i = 0; i < ids.size(); ++i) out += fmt::format("{}{}", i ? (json ? ", " : " ") : "", ids[i]);
    if (json) out += "]";
    fmt::print("{}\n", out);
    return 0;
}

int cmd_detokenize(const Args& args) {
    Flags flags("apr detokenize", "SOURCE ID... [--skip-special]",
                "Print the text of token ids. SOURCE is a GGUF file, a tokenizer.json or a Hugging Face model\n"
                "folder. Bytes that do not form valid UTF-8 print as U+FFFD.");
    bool skip_special = false;
    flags.add("--skip-special", &skip_special, "leave control tokens (<|im_end|>, ...) out");
    const std::vector<std::string> positional = flags.parse(args);
    if (positional.size() < 2) throw UsageError("expected SOURCE and at least one ID");
    std::vector<int32_t> ids;
    for (size_t i = 1; i < positional.size(); ++i) ids.push_back(parse_id(positional[i]));
    const auto tokenizer = Tokenizer::from_file(positional[0]);
    fmt::print("{}\n", tokenizer->decode(ids, skip_special));
    return 0;
}

}  // namespace apr::cli
