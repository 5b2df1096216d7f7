// A small declarative flag parser for the apr subcommands: each flag is
// declared once with its default and help text, and `--help` is generated.
//
//   Flags flags("apr inspect", "PATH [--json]", "Show what a model file holds.");
//   bool json = false;
//   flags.add("--json", &json, "print one JSON object");
//   auto positional = flags.parse(argc, argv);   // throws UsageError
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace apr::cli {

// A command-line mistake: printed with the usage line, exit code 2.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Thrown by parse() when --help was given; main() prints `text` and exits 0.
struct HelpRequested {
    std::string text;
};

class Flags {
public:
    Flags(std::string command, std::string usage, std::string summary);

    void add(const std::string& name, bool* target, const std::string& help);
    void add(const std::string& name, std::string* target, const std::string& help, const std::string& metavar = "TEXT");
    void add(const std::string& name, std::optional<std::string>* target, const std::string& help,
             const std::string& metavar = "TEXT");
    void add(const std::string& name, int64_t* target, const std::string& help, const std::string& metavar = "N");
    void add(const std::string& name, std::optional<int64_t>* target, const std::string& help,
             const std::string& metavar = "N");
    void add(const std::string& name, double* target, const std::string& help, const std::string& metavar = "X");
    void add(const std::string& name, std::optional<double>* target, const std::string& help,
             const std::string& metavar = "X");
    // A flag that may repeat; every value is appended.
    void add(const std::string& name, std::vector<std::string>* target, const std::string& help,
             const std::string& metavar = "TEXT");

    // Parses args (without the program and subcommand names) and returns the
    // positional arguments. Throws UsageError, or HelpRequested carrying help().
    std::vector<std::string> parse(const std::vector<std::string>& args);

    std::string help() const;
    std::string usage() const;

private:
    struct Flag {
        std::string name;
        std::string help;
        std::string metavar;  // empty for booleans
        std::string default_text;
        std::function<void(const std::string&)> set;
    };
    void add_flag(Flag flag);
    const Flag* find(const std::string& name) const;

    std::string command_, usage_, summary_;
    std::vector<Flag> flags_;
};

}  // namespace apr::cli
