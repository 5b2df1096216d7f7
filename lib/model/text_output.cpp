#include "model/text_output.hpp"

#include <algorithm>

namespace apr::model {

TextOutput::TextOutput(std::function<std::string(int32_t)> decode, std::function<std::string()> flush,
                       std::vector<std::string> stop_strings)
    : decode_(std::move(decode)), flush_(std::move(flush)) {
    for (auto& s : stop_strings)
        if (!s.empty()) stops_.push_back(std::move(s));
    for (const auto& s : stops_) longest_stop_ = std::max(longest_stop_, s.size());
}

std::string_view TextOutput::push(int32_t id) {
    if (stopped_ || finished_) return {};
    text_ += decode_(id);
    return advance(false);
}

std::string_view TextOutput::finish() {
    if (stopped_ || finished_) return {};
    finished_ = true;
    if (flush_) text_ += flush_();
    return advance(true);
}

std::string_view TextOutput::advance(bool final) {
    // A stop string can only start in the part not yet emitted, or straddle
    // its boundary by less than the longest stop string.
    const size_t search_from = emitted_ > longest_stop_ ? emitted_ - longest_stop_ : 0;
    size_t cut = std::string::npos;
    for (const auto& s : stops_) cut = std::min(cut, text_.find(s, search_from));
    if (cut != std::string::npos) {
        text_.resize(cut);
        stopped_ = true;
        const size_t from = std::min(emitted_, cut);
        emitted_ = cut;
        return std::string_view(text_).substr(from);
    }
    // Hold back the longest tail that is a prefix of some stop string.
    size_t hold = 0;
    if (!final) {
        for (const auto& s : stops_)
            for (size_t len = std::min(s.size() - 1, text_.size()); len > hold; --len)
                if (text_.compare(text_.size() - len, len, s, 0, len) == 0) {
                    hold = len;
                    break;
                }
    }
    const size_t upto = std::max(emitted_, text_.size() - hold);
    const size_t from = emitted_;
    emitted_ = upto;
    return std::string_view(text_).substr(from, upto - from);
}

}  // namespace apr::model
