// Generated ids -> text that is safe to stream: whole UTF-8 characters only,
// and any tail that could still grow into a stop string is held back until
// it either becomes one (generation stops, the stop string is cut) or
// cannot anymore.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "apr/tokenizer.hpp"

namespace apr::serve {

class TextStream {
public:
    TextStream(const Tokenizer& tokenizer, std::vector<std::string> stops);
    // Text that may be shown after token `id` (possibly empty).
    std::string push(int32_t id);
    // Everything still held back (nothing when stopped).
    std::string finish();
    bool stopped() const { return stopped_; }

private:
    std::string release(bool final);
    StreamingDecoder decoder_;
    std::vector<std::string> stops_;
    std::string text_;
    size_t emitted_ = 0;
    bool stopped_ = false;
};

}  // namespace apr::serve
