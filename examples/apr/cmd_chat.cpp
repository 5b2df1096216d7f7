// apr chat [MODEL]: an interactive conversation on a terminal, or one message
// per line when stdin is piped. Multi-turn through the model's chat template;
// the KV cache is kept between turns so each turn evaluates only its new
// tokens (chat_session.hpp). Answers stream to stdout; timings and notes go to
// stderr. Ctrl-C stops the answer being written, Ctrl-D or /exit leaves.
#include <fmt/core.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "apr/error.hpp"
#include "apr/generate.hpp"
#include "apr/model.hpp"
#include "chat_session.hpp"
#include "commands.hpp"
#include "flags.hpp"
#include "generation_flags.hpp"
#include "line_reader.hpp"
#include "session_flags.hpp"
#include "trace_flags.hpp"

namespace apr::cli {
namespace {

constexpr const char* kHelp =
    "Commands:\n"
    "  /help              this list\n"
    "  /system TEXT       set the system message (no TEXT: remove it); the conversation is kept\n"
    "  /clear             forget the conversation (and the KV cache); the system message stays\n"
    "  /save FILE         write the conversation as JSON\n"
    "  /load FILE         read a conversation written by /save (or any {\"messages\": [...]})\n"
    "  /set               show the sampling options\n"
    "  /set NAME VALUE    change one: temperature, top-k, top-p, min-p, repeat-penalty,\n"
    "                     presence-penalty, frequency-penalty, seed, max-tokens\n"
    "  /stats             context use and speeds\n"
    "  /exit              leave (also /quit, /bye or Ctrl-D)\n"
    "Multi-line input: end a line with \\ to continue it, or put the message between lines of \"\"\".\n"
    "Ctrl-C stops the answer being written; at the prompt it drops the line.\n";

struct Totals {
    int64_t turns = 0, prompt_tokens = 0, generated_tokens = 0;
    double prompt_ms = 0, generation_ms = 0;
};

struct Chat {
    ChatSession& session;
    GenerationFlags& options;
    LineReader& reader;
    bool color;  // stderr notes dimmed
    trace::Recorder* recorder;  // null unless a trace mode is on
    TraceReporter& reporter;
    const Model& model;
    KVCacheType kv_type;
    Totals totals;

    void note(const std::string& text) const {
        if (color) fmt::print(stderr, "\x1b[2m{}\x1b[0m\n", text);
        else fmt::print(stderr, "{}\n", text);
    }

    void answer(const std::string& message) {
        GenerateParams gp = options.generate_params();
        const bool interactive = reader.interactive();
        if (interactive) gp.cancel = interrupt_flag();
        take_interrupt();
        const TokenCallback stream = [](const GeneratedToken& t) {
            if (!t.text.empty()) {
                std::fwrite(t.text.data(), 1, t.text.size(), stdout);
                std::fflush(stdout);
            }
            return true;
        };
        TurnResult r;
        if (recorder != nullptr) recorder->clear();
        try {
            r = session.turn(message, gp, stream);
        } catch (const Error& e) {
            if (e.code() != ErrorCode::context_overflow) throw;
            note(fmt::format("apr chat: {}", e.what()));
            if (!interactive) std::fputs("\n", stdout);  // one answer line per message, even an empty one
            std::fflush(stdout);
            return;
        }
        std::fputs("\n", stdout);
        std::fflush(stdout);
        take_interrupt();
        const GenerateResult& g = r.generation;
        ++totals.turns;
        totals.prompt_tokens += r.new_tokens;
        totals.generated_tokens += g.completion_tokens;
        totals.prompt_ms += g.prompt_ms;
        totals.generation_ms += g.generation_ms;
        if (g.finish_reason == FinishReason::cancelled) note("[answer stopped]");
        const double pp = g.prompt_ms > 0 ? r.new_tokens * 1000.0 / g.prompt_ms : 0.0;
        const double tg = g.generation_ms > 0 ? g.completion_tokens * 1000.0 / g.generation_ms : 0.0;
        note(fmt::format("[{} new prompt tokens evaluated ({} reused from the cache) at {:.1f} tok/s, {} generated at "
                         "{:.1f} tok/s, finish: {}, context {}/{}]",
                         r.new_tokens, r.reused_tokens, pp, g.completion_tokens, tg,
                         finish_reason_name(g.finish_reason), session.cached_tokens(),
                         session.context_length()));
        if (r.context_full)
            note(fmt::format("[the context is full ({} positions): /clear starts a new conversation]",
                             session.context_length()));
        if (recorder != nullptr) reporter.report(*recorder, model, static_cast<int>(totals.turns), kv_type);
    }

    void stats() const {
        note(fmt::format("context: {} of {} positions in the KV cache, {} messages{}", session.cached_tokens(),
                         session.context_length(), session.messages().size(),
                         session.system() ? " + a system message" : ""));
        note(fmt::format("turns: {}; prompt: {} tokens evaluated in {:.1f} ms ({:.1f} tok/s); generated: {} tokens in "
                         "{:.1f} ms ({:.1f} tok/s)",
                         totals.turns, totals.prompt_tokens, totals.prompt_ms,
                         totals.prompt_ms > 0 ? totals.prompt_tokens * 1000.0 / totals.prompt_ms : 0.0,
                         totals.generated_tokens, totals.generation_ms,
                         totals.generation_ms > 0 ? totals.generated_tokens * 1000.0 / totals.generation_ms : 0.0));
        note("options: " + describe_generation_options(options));
    }

    // Returns false when the command asks to leave.
    bool command(const std::string& line) {
        const size_t space = line.find(' ');
        const std::string name = line.substr(0, space);
        std::string arg = space == std::string::npos ? "" : line.substr(space + 1);
        while (!arg.empty() && arg.front() == ' ') arg.erase(0, 1);
        while (!arg.empty() && (arg.back() == ' ' || arg.back() == '\n')) arg.pop_back();
        try {
            if (name == "/exit" || name == "/quit" || name == "/bye") return false;
            if (name == "/help" || name == "/?") {
                fmt::print(stderr, "{}", kHelp);
            } else if (name == "/system") {
                session.set_system(arg.empty() ? std::nullopt : std::optional<std::string>(arg));
                note(arg.empty() ? "system message removed" : "system message set");
            } else if (name == "/clear") {
                session.clear();
                note("conversation cleared");
            } else if (name == "/save" || name == "/load") {
                if (arg.empty()) throw UsageError(name + " needs a FILE");
                if (name == "/save") {
                    session.save(arg);
                    note(fmt::format("saved {} messages to {}", session.messages().size() + (session.system() ? 1 : 0), arg));
                } else {
                    session.load(arg);
                    note(fmt::format("loaded {} messages from {}", session.messages().size() + (session.system() ? 1 : 0), arg));
                }
            } else if (name == "/set") {
                if (arg.empty()) {
                    note("options: " + describe_generation_options(options));
                } else {
                    const size_t sep = arg.find(' ');
                    if (sep == std::string::npos) throw UsageError("/set NAME VALUE (see /help)");
                    set_generation_option(options, arg.substr(0, sep), arg.substr(arg.find_first_not_of(' ', sep)));
                    note("options: " + describe_generation_options(options));
                }
            } else if (name == "/stats") {
                stats();
            } else {
                note(fmt::format("unknown command {} (see /help)", name));
            }
        } catch (const UsageError& e) {
            note(fmt::format("apr chat: {}", e.what()));
        } catch (const Error& e) {
            note(fmt::format("apr chat: error: {}", e.what()));
        }
        return true;
    }

    void loop() {
        if (reader.interactive())
            note("apr chat: /help lists the commands, Ctrl-C stops an answer, Ctrl-D or /exit leaves.");
        for (;;) {
            const ReadResult in = reader.read();
            if (in.status == ReadStatus::end) break;
            if (in.status == ReadStatus::interrupted) {
                fmt::print(stderr, "^C\n");
                continue;
            }
            const std::string& text = in.text;
            if (text.find_first_not_of(" \t\n") == std::string::npos) {
                continue;
            }
            if (text[0] == '/') {
                if (!command(text)) break;
                continue;
            }
            answer(text);
        }
        if (reader.interactive()) fmt::print(stderr, "\n");
    }
};

}  // namespace

int cmd_chat(const Args& args) {
    Flags flags("apr chat", "[MODEL] [options]",
                "Chat with a model. MODEL is a GGUF file, a SafeTensors file or a Hugging Face folder (default:\n"
                "the bundled model). On a terminal: line editing and history, /help for the commands. With stdin\n"
                "piped: one message per line, each answer on one line of stdout.");
    GenerationFlags gen;
    gen.add_to(flags, "most tokens per answer");
    TraceFlags trace_flags;
    trace_flags.add_to(flags);
    SessionFlags session_flags;
    session_flags.add_to(flags);
    const std::vector<std::string> positional = flags.parse(args);
    if (positional.size() > 1) throw UsageError("expected at most one MODEL");
    gen.validate();
    trace_flags.validate();
    session_flags.validate();
    const std::string path = positional.empty() ? default_model_path() : positional[0];

    TraceReporter reporter(trace_flags, path);
    const auto load_start = std::chrono::steady_clock::now();
    auto model = Model::load(path, gen.model_params());
    reporter.loaded(*model, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - load_start).count());
    std::unique_ptr<trace::Recorder> recorder = trace_flags.make_recorder();
    SessionParams sp = session_flags.params();
    sp.observer = recorder.get();
    ChatSession session(*model, sp, gen.system);
    const bool interactive = isatty(STDIN_FILENO) != 0;
    if (interactive) install_interrupt_handler();
    LineReader reader(interactive);
    const bool color = interactive && isatty(STDERR_FILENO) != 0 && std::getenv("NO_COLOR") == nullptr;
    Chat chat{session, gen, reader, color, recorder.get(), reporter, *model, session.session().kv_cache_type(), {}};
    chat.loop();
    reporter.finished();
    return 0;
}

}  // namespace apr::cli
