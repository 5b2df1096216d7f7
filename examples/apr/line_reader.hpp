// Reading the user's messages for `apr chat`.
//
// On a terminal: libedit (BSD licensed, readline-compatible) gives line
// editing and a history kept in $XDG_STATE_HOME/apr/chat_history (default
// ~/.local/state/apr/chat_history). A message spans several lines when a line
// ends with a backslash, or between two lines of `"""`. Ctrl-C at the prompt
// drops the line being typed; Ctrl-D on an empty line ends the input.
//
// Not a terminal (piped): one message per line, no prompts, no editing.
#pragma once

#include <atomic>
#include <filesystem>
#include <optional>
#include <string>

namespace apr::cli {

enum class ReadStatus { message, interrupted, end };

struct ReadResult {
    ReadStatus status;
    std::string text;  // for ReadStatus::message
};

class LineReader {
public:
    // interactive: use line editing and history (stdin is a terminal).
    explicit LineReader(bool interactive);
    ~LineReader();
    LineReader(const LineReader&) = delete;
    LineReader& operator=(const LineReader&) = delete;

    ReadResult read();
    bool interactive() const { return interactive_; }
    // Where the history is kept (empty when not interactive or no home folder).
    const std::filesystem::path& history_file() const { return history_file_; }

private:
    std::optional<std::string> read_line(const char* prompt, bool* interrupted);
    bool interactive_;
    std::filesystem::path history_file_;
};

// apr chat's SIGINT handler sets one flag (a lock-free atomic, so setting it
// from a signal handler is safe): generation polls it as
// GenerateParams::cancel and stops after the current token; the reader
// returns `interrupted` when it is set while the user types.
void install_interrupt_handler();
const std::atomic<bool>* interrupt_flag();
bool take_interrupt();  // returns the flag and clears it

}  // namespace apr::cli
