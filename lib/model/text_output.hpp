// The text side of generation: turns generated tokens into text that is safe
// to stream (whole UTF-8 characters only, via a piece decoder such as the
// tokenizer's StreamingDecoder) and watches for stop strings, holding back
// any tail that could still become one.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace apr::model {

class TextOutput {
public:
    // decode(id) returns the text the token completes ("" while a UTF-8
    // character is incomplete, or for control tokens that have no text);
    // flush() returns what the decoder still holds at the end.
    TextOutput(std::function<std::string(int32_t)> decode, std::function<std::string()> flush,
               std::vector<std::string> stop_strings);

    // Feeds one generated token; returns the text that may be shown now.
    std::string_view push(int32_t id);
    // At the end of generation: everything still held back (unless stopped).
    // Later calls (and pushes) return nothing.
    std::string_view finish();
    // A stop string appeared; text() is cut before it.
    bool stopped() const { return stopped_; }
    const std::string& text() const { return text_; }

private:
    std::string_view advance(bool final);

    std::function<std::string(int32_t)> decode_;
    std::function<std::string()> flush_;
    std::vector<std::string> stops_;
    size_t longest_stop_ = 0;
    std::string text_;     // decoded text so far (cut at a stop string)
    size_t emitted_ = 0;   // bytes of text_ already returned
    bool stopped_ = false;
    bool finished_ = false;
};

}  // namespace apr::model
