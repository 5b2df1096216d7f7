#include "flags.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cstdlib>

namespace apr::cli {
namespace {

int64_t parse_int(const std::string& flag, const std::string& text) {
    int64_t value = 0;
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc() || ptr != end || text.empty())
        throw UsageError(fmt::format("{} expects an integer, got '{}'", flag, text));
    return value;
}

double parse_double(const std::string& flag, const std::string& text) {
    try {
        size_t used = 0;
        double value = std::stod(text, &used);
        if (used == text.size()) return value;
    } catch (const std::exception&) {
    }
    throw UsageError(fmt::format("{} expects a number, got '{}'", flag, text));
}

}  // namespace

Flags::Flags(std::string command, std::string usage, std::string summary)
    : command_(std::move(command)), usage_(std::move(usage)), summary_(std::move(summary)) {
    // Every command may open an hf:// model, so every command takes
    // --offline; the library reads it as HF_HUB_OFFLINE (docs/download.md).
    add_flag({"--offline", "hf:// models: use the download cache only, never the network (HF_HUB_OFFLINE=1)", "",
              "", [](const std::string&) { ::setenv("HF_HUB_OFFLINE", "1", 1); }});
}

void Flags::add_flag(Flag flag) { flags_.push_back(std::move(flag)); }

void Flags::add(const std::string& name, bool* target, const std::string& help) {
    add_flag({name, help, "", "", [target](const std::string&) { *target = true; }});
}
void Flags::add(const std::string& name, std::string* target, const std::string& help, const std::string& metavar) {
    add_flag({name, help, metavar, target->empty() ? "" : *target, [target](const std::string& v) { *target = v; }});
}
void Flags::add(const std::string& name, std::optional<std::string>* target, const std::string& help,
                const std::string& metavar) {
    add_flag({name, help, metavar, "", [target](const std::string& v) { *target = v; }});
}
void Flags::add(const std::string& name, int64_t* target, const std::string& help, const std::string& metavar) {
    add_flag({name, help, metavar, std::to_string(*target),
              [target, name](const std::string& v) { *target = parse_int(name, v); }});
}
void Flags::add(const std::string& name, std::optional<int64_t>* target, const std::string& help,
                const std::string& metavar) {
    add_flag({name, help, metavar, "", [target, name](const std::string& v) { *target = parse_int(name, v); }});
}
void Flags::add(const std::string& name, double* target, const std::string& help, const std::string& metavar) {
    add_flag({name, help, metavar, fmt::format("{}", *target),
              [target, name](const std::string& v) { *target = parse_double(name, v); }});
}
void Flags::add(const std::string& name, std::optional<double>* target, const std::string& help,
                const std::string& metavar) {
    add_flag({name, help, metavar, "", [target, name](const std::string& v) { *target = parse_double(name, v); }});
}
void Flags::add(const std::string& name, std::vector<std::string>* target, const std::string& help,
                const std::string& metavar) {
    add_flag({name, help, metavar, "", [target](const std::string& v) { target->push_back(v); }});
}

const Flags::Flag* Flags::find(const std::string& name) const {
    for (const auto& flag : flags_)
        if (flag.name == name) return &flag;
    return nullptr;
}

std::vector<std::string> Flags::parse(const std::vector<std::string>& args) {
    std::vector<std::string> positional;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (arg == "--") {
            positional.insert(positional.end(), args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
            break;
        }
        if (arg == "-h" || arg == "--help") throw HelpRequested{help()};
        if (arg.size() < 2 || arg[0] != '-' || (arg[1] != '-' && !std::isalpha(static_cast<unsigned char>(arg[1])))) {
            positional.push_back(arg);  // includes negative numbers such as "-1"
            continue;
        }
        std::string name = arg, value;
        bool has_inline_value = false;
        if (auto eq = arg.find('='); eq != std::string::npos) {
            name = arg.substr(0, eq);
            value = arg.substr(eq + 1);
            has_inline_value = true;
        }
        const Flag* flag = find(name);
        if (!flag) throw UsageError(fmt::format("unknown option '{}'", name));
        if (flag->metavar.empty()) {
            if (has_inline_value) throw UsageError(fmt::format("{} takes no value", name));
            flag->set("");
            continue;
        }
        if (!has_inline_value) {
            if (i + 1 >= args.size()) throw UsageError(fmt::format("{} needs a value ({})", name, flag->metavar));
            value = args[++i];
        }
        flag->set(value);
    }
    return positional;
}

std::string Flags::usage() const { return fmt::format("usage: {} {}", command_, usage_); }

std::string Flags::help() const {
    std::string out = fmt::format("{}\n\n{}\n", usage(), summary_);
    if (!flags_.empty()) out += "\noptions:\n";
    // The common --offline (declared first, in the constructor) goes last.
    std::vector<const Flag*> ordered;
    for (const auto& flag : flags_)
        if (flag.name != "--offline") ordered.push_back(&flag);
    ordered.push_back(&flags_.front());
    for (const Flag* f : ordered) {
        const Flag& flag = *f;
        std::string left = flag.metavar.empty() ? flag.name : flag.name + " " + flag.metavar;
        std::string right = flag.help;
        if (!flag.default_text.empty()) right += fmt::format(" (default: {})", flag.default_text);
        out += fmt::format("  {:<24} {}\n", left, right);
    }
    return out;
}

}  // namespace apr::cli
