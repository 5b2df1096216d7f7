// apr: the command-line front end of libapr. Dispatches to one subcommand.
#include <fmt/core.h>

#include <cstdio>
#include <string_view>

#include "apr/error.hpp"
#include "apr/version.hpp"
#include "commands.hpp"
#include "flags.hpp"

namespace {

struct Command {
    std::string_view name;
    int (*run)(const apr::cli::Args&);
    std::string_view summary;
};

constexpr Command kCommands[] = {
    {"run", apr::cli::cmd_run, "generate one completion for a prompt"},
    {"chat", apr::cli::cmd_chat, "chat with a model (interactive, or one message per line from a pipe)"},
    {"inspect", apr::cli::cmd_inspect, "show a model file's format, config, tokenizer and tensors"},
    {"tokenize", apr::cli::cmd_tokenize, "print the token ids of a text"},
    {"detokenize", apr::cli::cmd_detokenize, "print the text of token ids"},
    {"template", apr::cli::cmd_template, "render a chat through the model's chat template"},
    {"bench", apr::cli::cmd_bench, "measure prompt and generation speed, optionally at a cache depth"},
    {"import", apr::cli::cmd_import, "convert GGUF, SafeTensors or a Hugging Face folder into an APR file"},
    {"export", apr::cli::cmd_export, "write an APR file as GGUF or as a Hugging Face folder"},
    {"quantize", apr::cli::cmd_quantize, "quantize a model with llama.cpp's recipes (q4_k_m, q8_0, ...)"},
    {"serve", apr::cli::cmd_serve, "serve a model over HTTP (OpenAI and Ollama APIs)"},
    {"download", apr::cli::cmd_download, "download hf:// models into the cache (docs/download.md)"},
    {"pull", apr::cli::cmd_download, "the same as download"},
    {"list", apr::cli::cmd_list, "list the cached models with their sizes"},
    {"rm", apr::cli::cmd_rm, "remove a model from the cache"},
    {"qa", apr::cli::cmd_qa, "the QA matrix: formats x backends x tracing modes, 145 points (docs/qa.md)"},
};

void print_overview() {
    fmt::print("apr {} - run large language models with libapr\n\nusage: apr COMMAND [ARGS...]\n\ncommands:\n",
               apr::version_string());
    for (const auto& command : kCommands) fmt::print("  {:<12} {}\n", command.name, command.summary);
    fmt::print("\n`apr COMMAND --help` describes a command. Without MODEL, commands use the bundled\n"
               "default model ({}). A MODEL may be an hf:// URI (docs/download.md).\n",
               apr::cli::default_model_path());
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h" ||
        std::string_view(argv[1]) == "help") {
        print_overview();
        return argc < 2 ? 2 : 0;
    }
    const std::string_view name = argv[1];
    if (name == "--version" || name == "version") {
        fmt::print("{}\n", apr::build_info());
        return 0;
    }
    for (const auto& command : kCommands) {
        if (command.name != name) continue;
        apr::cli::Args args(argv + 2, argv + argc);
        try {
            return command.run(args);
        } catch (const apr::cli::HelpRequested& help) {
            fmt::print("{}", help.text);
            return 0;
        } catch (const apr::cli::UsageError& e) {
            fmt::print(stderr, "apr {}: {}\n(see `apr {} --help`)\n", name, e.what(), name);
            return 2;
        } catch (const apr::Error& e) {
            fmt::print(stderr, "apr {}: error: {}\n", name, e.what());
            return 1;
        } catch (const std::exception& e) {
            fmt::print(stderr, "apr {}: unexpected error: {}\n", name, e.what());
            return 1;
        }
    }
    fmt::print(stderr, "apr: unknown command '{}' (see `apr --help`)\n", name);
    return 2;
}
