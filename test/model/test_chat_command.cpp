// `apr chat` end to end, driven for real: in a pseudo-terminal as a user
// types (two turns with the KV cache reused, Ctrl-C in the middle of an
// answer, /save and /load, /set, history recalled by a second run), and with
// stdin piped (one answer line per message, a full context reported).
#include <catch2/catch.hpp>

#include <simdjson.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <string>

#include "support/fixtures.hpp"
#include "support/prerequisites.hpp"
#include "support/pty_process.hpp"
#include "support/shell.hpp"

namespace {

std::string cli() {
    const std::filesystem::path path = apr::test::apr_cli_path();
    REQUIRE(!path.empty());
    return path.string();
}

std::string model_path() { return (apr::test::vendored_models_dir() / "nano" / "nano-q4_k_m.gguf").string(); }

std::filesystem::path temp_dir(const std::string& name) {
    const auto dir = std::filesystem::temp_directory_path() / ("apr_test_chat_" + name + "_" + std::to_string(getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir;
}

// Shows control characters so a failure message can be read.
std::string fmt_byte(unsigned char c) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02x", c);
    return buf;
}

std::string printable(const std::string& text) {
    std::string out;
    for (unsigned char c : text) {
        if (c == '\r') out += "\\r";
        else if (c == '\n') out += "\\n";
        else if (c < 0x20 || c == 0x7f) out += fmt_byte(c);
        else out += static_cast<char>(c);
    }
    return out;
}

// Waits for `text`; when it does not come, the failure names it and shows
// what the terminal last showed (a CI log is all there is to go on).
bool shows(apr::test::PtyProcess& chat, const std::string& text, double seconds = 30) {
    if (chat.wait_for(text, seconds)) return true;
    const std::string& out = chat.output();
    UNSCOPED_INFO("waited " << seconds << " s for '" << printable(text) << "'; the terminal's last output: '"
                            << printable(out.substr(out.size() > 1500 ? out.size() - 1500 : 0)) << "'");
    return false;
}

// Waits for the prompt and for the line editor to be reading keys.
bool at_prompt(apr::test::PtyProcess& chat) {
    if (!shows(chat, ">>> ")) return false;
    if (chat.wait_until_raw()) return true;
    UNSCOPED_INFO("the prompt came but the terminal stayed in canonical mode for 30 s");
    return false;
}

// Sends a message and returns the answer: the text between the (last) echo
// of the line and the timing note that follows it. The line may be echoed
// twice, by the terminal and by libedit, when it arrives before libedit has
// taken the terminal over.
std::string ask(apr::test::PtyProcess& chat, const std::string& message) {
    REQUIRE(at_prompt(chat));
    chat.send(message + "\r");
    REQUIRE(shows(chat, message + "\r\n"));
    REQUIRE(shows(chat, "\r\n[", 60));
    const size_t note = chat.mark() - 3;
    const size_t echo = chat.output().rfind(message + "\r\n", note);
    const size_t start = echo + message.size() + 2;
    return start <= note ? chat.output().substr(start, note - start) : std::string("?");
}

// The numbers of the timing note after an answer.
struct Note {
    long fresh = -1, reused = -1, generated = -1;
    std::string finish;
};
Note timing_note(apr::test::PtyProcess& chat) {
    // "finish: " first: a sampled answer, and "[answer stopped]", can hold "]\r\n" too.
    REQUIRE(shows(chat, " finish: ", 60));
    REQUIRE(shows(chat, "]\r\n", 60));
    const std::string& out = chat.output();
    const size_t open = out.rfind("\r\n[", chat.mark());
    const std::string line = out.substr(open, chat.mark() - open);
    std::smatch m;
    const std::regex re(R"((\d+) new prompt tokens evaluated \((\d+) reused from the cache\).*?(\d+) generated at .*finish: (\w+))");
    Note note;
    if (std::regex_search(line, m, re)) {
        note.fresh = std::stol(m[1]);
        note.reused = std::stol(m[2]);
        note.generated = std::stol(m[3]);
        note.finish = m[4];
    }
    INFO(line);
    CHECK(note.fresh >= 0);
    return note;
}

std::string run_piped(const std::string& input, const std::string& flags, std::string* err_text) {
    const auto dir = temp_dir("piped");
    const auto in = dir / "in.txt", err = dir / "err.txt";
    FILE* f = std::fopen(in.c_str(), "wb");
    REQUIRE(f != nullptr);
    std::fwrite(input.data(), 1, input.size(), f);
    std::fclose(f);
    const std::string command = cli() + " chat " + model_path() + " " + flags + " < " + in.string() + " 2> " + err.string();
    const apr::test::ShellResult r = apr::test::run_shell(command);
    CHECK(WEXITSTATUS(r.status) == 0);
    *err_text = apr::test::read_text_file(err);
    std::filesystem::remove_all(dir);
    return r.out;
}

}  // namespace

TEST_CASE("apr chat in a terminal: two turns reuse the cache, Ctrl-C stops an answer, /save and /load, history") {
    const auto dir = temp_dir("pty");
    const std::string state = "XDG_STATE_HOME=" + dir.string();
    {
        apr::test::PtyProcess chat({cli(), "chat", model_path(), "--max-tokens", "2000"}, {state, "NO_COLOR=1"});
        CHECK(ask(chat, "What is 2+2?") == "4");
        const Note first = timing_note(chat);
        CHECK(first.reused == 0);
        CHECK(first.generated == 2);  // "4" and <|im_end|>
        CHECK(ask(chat, "What is 7*8?") == "56");
        const Note second = timing_note(chat);
        // Only the new turn is evaluated: the first turn's prompt and answer
        // come from the cache (its <|im_end|> is the first new token).
        CHECK(second.reused == first.fresh + 1);
        CHECK(second.fresh < first.fresh);

        // Ctrl-C in the middle of a long sampled answer stops it, and the chat goes on.
        // One /set per prompt: keys typed while libedit is not reading are
        // echoed by the terminal as well, which makes the transcript depend on timing.
        for (const char* option : {"temperature 3", "top-k 0", "min-p 0", "top-p 1"}) {
            REQUIRE(at_prompt(chat));
            chat.send(std::string("/set ") + option + "\r");
            REQUIRE(shows(chat, "options: "));
        }
        // A sampled story can end by itself before the interrupt lands (how
        // soon depends on the kernels' rounding, which differs between CPUs),
        // so a few seeds are tried until one answer is still running.
        Note stopped;
        int stories = 0;  // each one leaves a question and its (partial) answer in the conversation
        for (int seed = 2; seed < 8 && stopped.finish != "cancelled"; ++seed) {
            REQUIRE(at_prompt(chat));
            chat.send("/set seed " + std::to_string(seed) + "\r");
            REQUIRE(shows(chat, "seed " + std::to_string(seed) + ", max-tokens 2000\r\n"));
            REQUIRE(at_prompt(chat));
            chat.send("Tell me a long story.\r");
            ++stories;
            REQUIRE(shows(chat, "Tell me a long story.\r\n"));
            const size_t answer_start = chat.mark();
            // Wait until the answer has begun streaming (more than a few bytes), then interrupt.
            REQUIRE(chat.wait_for_size(answer_start + 40));
            chat.send("\x03");
            stopped = timing_note(chat);  // the note ends a stopped answer and a finished one alike
        }
        CHECK(stopped.finish == "cancelled");
        CHECK(chat.output().find("[answer stopped]") != std::string::npos);
        CHECK(stopped.generated > 0);
        CHECK(stopped.generated < 1000);
        REQUIRE(at_prompt(chat));
        chat.send("/set temperature 0\r");
        REQUIRE(shows(chat, "(greedy), top-k"));

        // /save writes the conversation; /clear forgets it; /load brings it back.
        const auto saved = dir / "conversation.json";
        REQUIRE(at_prompt(chat));
        chat.send("/save " + saved.string() + "\r");
        const int saved_messages = 4 + 2 * stories;
        REQUIRE(shows(chat, "saved " + std::to_string(saved_messages) + " messages"));
        simdjson::dom::parser parser;
        simdjson::dom::element doc = parser.load(saved.string());
        simdjson::dom::array messages = doc["messages"];
        REQUIRE(messages.size() == static_cast<size_t>(saved_messages));
        CHECK(std::string_view(messages.at(0)["role"]) == "user");
        CHECK(std::string_view(messages.at(0)["content"]) == "What is 2+2?");
        CHECK(std::string_view(messages.at(1)["role"]) == "assistant");
        CHECK(std::string_view(messages.at(1)["content"]) == "4");
        CHECK(std::string_view(messages.at(3)["content"]) == "56");
        REQUIRE(at_prompt(chat));
        chat.send("/clear\r");
        REQUIRE(shows(chat, "conversation cleared"));
        REQUIRE(at_prompt(chat));
        chat.send("/stats\r");
        REQUIRE(shows(chat, "0 messages"));
        REQUIRE(at_prompt(chat));
        chat.send("/load " + (dir / "missing.json").string() + "\r");
        REQUIRE(shows(chat, "cannot open"));
        REQUIRE(at_prompt(chat));
        chat.send("/load " + saved.string() + "\r");
        REQUIRE(shows(chat, "loaded " + std::to_string(saved_messages) + " messages"));
        REQUIRE(at_prompt(chat));
        chat.send("/stats\r");
        REQUIRE(shows(chat, std::to_string(saved_messages) + " messages"));
        // The loaded conversation is the context of the next turn: all of it is evaluated.
        // (The sampled stories are part of that context, so the wording may vary; the product may not.)
        CHECK_THAT(ask(chat, "What is 7*8?"), Catch::Matchers::Contains("56"));
        const Note after_load = timing_note(chat);
        CHECK(after_load.reused == 0);
        CHECK(after_load.fresh > first.fresh + second.fresh);

        REQUIRE(at_prompt(chat));
        chat.send("/exit\r");
        CHECK(chat.wait_exit() == 0);
    }
    // A second run finds the history: the up arrow twice recalls the message before /exit.
    {
        apr::test::PtyProcess chat({cli(), "chat", model_path()}, {state, "NO_COLOR=1"});
        REQUIRE(at_prompt(chat));
        chat.send("\x1b[A\x1b[A\r");
        REQUIRE(shows(chat, "What is 7*8?"));
        REQUIRE(shows(chat, "56"));
        timing_note(chat);
        REQUIRE(at_prompt(chat));
        chat.send("\x04");  // Ctrl-D on an empty line leaves
        CHECK(chat.wait_exit() == 0);
    }
    CHECK(std::filesystem::exists(dir / "apr" / "chat_history"));
    std::filesystem::remove_all(dir);
}

TEST_CASE("apr chat piped: one answer line per message on stdout, nothing else") {
    std::string err;
    const std::string out = run_piped("What is 2+2?\nWhat is 7*8?\n", "", &err);
    CHECK(out == "4\n56\n");
    CHECK(err.find(">>>") == std::string::npos);
    CHECK(err.find("\x1b[") == std::string::npos);  // no colours
    CHECK(err.find("reused from the cache") != std::string::npos);
}

TEST_CASE("apr chat piped: a full context says so and points to /clear; /clear recovers") {
    std::string err;
    const std::string out = run_piped("What is 2+2?\nWhat is 7*8?\n/clear\nWhat is 7*8?\n", "--ctx-size 60", &err);
    CHECK(out == "4\n\n56\n");  // the second message gets an empty answer line
    CHECK(err.find("the context is full") != std::string::npos);
    CHECK(err.find("/clear") != std::string::npos);
}

TEST_CASE("apr chat rejects bad flags before loading the model") {
    std::string err;
    const std::string command = cli() + " chat /no/such/model.gguf --top-p 2 < /dev/null 2>/dev/null";
    CHECK(WEXITSTATUS(std::system(command.c_str())) == 2);
    const std::string missing = cli() + " chat /no/such/model.gguf < /dev/null 2>/dev/null";
    CHECK(WEXITSTATUS(std::system(missing.c_str())) == 1);
}
