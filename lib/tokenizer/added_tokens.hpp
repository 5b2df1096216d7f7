// Finds added tokens (special and user-defined) in text the way Hugging Face
// does: scanning left to right, the leftmost match wins, and among matches
// starting there the longest. A byte trie keeps this linear in practice.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace apr::tokenizer {

class AddedTokenMatcher {
public:
    struct Match {
        size_t begin;  // includes whitespace swallowed by lstrip
        size_t end;    // includes whitespace swallowed by rstrip
        int32_t id;
    };

    // `control` tokens are skipped when find() is called without parse_special.
    void add(std::string_view content, int32_t id, bool control, bool lstrip, bool rstrip);

    // The first match at or after `from`.
    std::optional<Match> find(std::string_view text, size_t from, bool parse_special) const;

    bool empty() const { return nodes_.size() <= 1; }

private:
    struct Node {
        std::vector<std::pair<unsigned char, uint32_t>> children;
        int32_t id = -1;
        bool control = false;
        bool lstrip = false;
        bool rstrip = false;
    };
    uint32_t child(uint32_t node, unsigned char byte) const;

    std::vector<Node> nodes_{Node{}};
    bool starts_[256] = {};  // bytes that begin some token
};

}  // namespace apr::tokenizer
