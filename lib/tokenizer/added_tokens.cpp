#include "tokenizer/added_tokens.hpp"

#include "tokenizer/unicode.hpp"
#include "tokenizer/unicode_tables.hpp"

namespace apr::tokenizer {
namespace {

constexpr uint32_t kNone = 0;  // node 0 is the root, never anyone's child

bool is_space_at(std::string_view text, size_t pos, size_t* length) {
    const auto unit = unicode::classify_at(text, pos);
    *length = unit.length;
    return unit.cls & unicode_data::kSpace;
}

// Start of the whitespace run that ends at `end`, not going below `floor`.
size_t skip_space_backward(std::string_view text, size_t end, size_t floor) {
    size_t pos = end;
    while (pos > floor) {
        size_t start = pos - 1;  // step back to the start of the previous character
        while (start > floor && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80 && pos - start < 4) --start;
        size_t length = 0;
        if (!is_space_at(text, start, &length) || start + length != pos) break;
        pos = start;
    }
    return pos;
}

size_t skip_space_forward(std::string_view text, size_t pos) {
    size_t length = 0;
    while (pos < text.size() && is_space_at(text, pos, &length)) pos += length;
    return pos;
}

}  // namespace

uint32_t AddedTokenMatcher::child(uint32_t node, unsigned char byte) const {
    for (const auto& [b, next] : nodes_[node].children)
        if (b == byte) return next;
    return kNone;
}

void AddedTokenMatcher::add(std::string_view content, int32_t id, bool control, bool lstrip, bool rstrip) {
    if (content.empty()) return;  // an empty token can never be matched
    uint32_t node = 0;
    for (const char c : content) {
        const auto byte = static_cast<unsigned char>(c);
        uint32_t next = child(node, byte);
        if (next == kNone) {
            next = static_cast<uint32_t>(nodes_.size());
            nodes_[node].children.emplace_back(byte, next);
            nodes_.emplace_back();
        }
        node = next;
    }
    starts_[static_cast<unsigned char>(content[0])] = true;
    Node& leaf = nodes_[node];
    if (leaf.id >= 0) return;  // the same text twice: the first id wins
    leaf.id = id;
    leaf.control = control;
    leaf.lstrip = lstrip;
    leaf.rstrip = rstrip;
}

std::optional<AddedTokenMatcher::Match> AddedTokenMatcher::find(std::string_view text, size_t from,
                                                                 bool parse_special) const {
    for (size_t start = from; start < text.size(); ++start) {
        if (!starts_[static_cast<unsigned char>(text[start])]) continue;
        const Node* best = nullptr;
        size_t best_end = 0;
        uint32_t node = 0;
        for (size_t pos = start; pos < text.size(); ++pos) {
            node = child(node, static_cast<unsigned char>(text[pos]));
            if (node == kNone) break;
            const Node& n = nodes_[node];
            if (n.id >= 0 && (parse_special || !n.control)) {
                best = &n;
                best_end = pos + 1;
            }
        }
        if (!best) continue;
        Match match{start, best_end, best->id};
        if (best->lstrip) match.begin = skip_space_backward(text, start, from);
        if (best->rstrip) match.end = skip_space_forward(text, best_end);
        return match;
    }
    return std::nullopt;
}

}  // namespace apr::tokenizer
