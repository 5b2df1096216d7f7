#include "serve/text_stream.hpp"

#include <algorithm>

namespace apr::serve {

TextStream::TextStream(const Tokenizer& tokenizer, std::vector<std::string> stops)
    : decoder_(tokenizer, /*skip_special=*/true), stops_(std::move(stops)) {
    stops_.erase(std::remove(stops_.begin(), stops_.end(), std::string()), stops_.end());
}

std::string TextStream::push(int32_t id) {
    if (stopped_) return {};
    text_ += decoder_.push(id);
    return release(false);
}

std::string TextStream::finish() {
    if (stopped_) return {};
    text_ += decoder_.finish();
    return release(true);
}

std::string TextStream::release(bool final) {
    // A stop string anywhere in the unsent text (it may start in the part
    // held back earlier) ends generation there.
    const size_t search_from = emitted_ > 0 ? emitted_ : 0;
    size_t cut = std::string::npos;
    for (const std::string& s : stops_) {
        const size_t from = search_from >= s.size() ? search_from - s.size() + 1 : 0;
        const size_t at = text_.find(s, std::min(from, text_.size()));
        if (at != std::string::npos && at >= emitted_ && at < cut) cut = at;
    }
    if (cut != std::string::npos) {
        stopped_ = true;
        text_.resize(cut);
        std::string out = text_.substr(emitted_);
        emitted_ = text_.size();
        return out;
    }
    size_t keep = 0;
    if (!final) {
        // The longest suffix of the text that is a proper prefix of a stop string.
        for (const std::string& s : stops_)
            for (size_t len = std::min(s.size() - 1, text_.size() - emitted_); len > keep; --len)
                if (text_.compare(text_.size() - len, len, s, 0, len) == 0) {
                    keep = len;
                    break;
                }
    }
    const size_t until = text_.size() - keep;
    std::string out = text_.substr(emitted_, until - emitted_);
    emitted_ = until;
    return out;
}

}  // namespace apr::serve
