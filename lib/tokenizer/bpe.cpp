#include "tokenizer/bpe.hpp"

#include <algorithm>

#include "tokenizer/byte_level.hpp"

namespace apr::tokenizer {
namespace {

struct Symbol {
    int32_t id;
    int32_t prev;  // index of the previous live symbol, -1 at the start
    int32_t next;  // index of the next live symbol, -1 at the end
};

struct Candidate {
    int32_t rank;
    int32_t left;  // symbol index of the pair's left half
    int32_t left_id;
    int32_t right_id;
    int32_t result;
};

// std::push_heap builds a max-heap; invert so the lowest rank, then the
// leftmost position, comes out first.
bool later(const Candidate& a, const Candidate& b) {
    return a.rank != b.rank ? a.rank > b.rank : a.left > b.left;
}

// Reused between words of the same thread to avoid allocating per word.
struct Scratch {
    std::vector<Symbol> symbols;
    std::vector<Candidate> heap;
};

}  // namespace

void Bpe::encode_word(std::string_view bytes, std::vector<int32_t>& out) const {
    if (bytes.size() == 1) {
        const int32_t id = byte_ids_[static_cast<unsigned char>(bytes[0])];
        if (id >= 0) out.push_back(id);
        return;
    }
    if (ignore_merges_) {
        const auto it = vocab_->find(byte_level_encode(bytes));
        if (it != vocab_->end()) {
            out.push_back(it->second);
            return;
        }
    }

    thread_local Scratch scratch;
    auto& symbols = scratch.symbols;
    auto& heap = scratch.heap;
    symbols.clear();
    heap.clear();
    for (const char c : bytes) {
        const int32_t id = byte_ids_[static_cast<unsigned char>(c)];
        if (id < 0) continue;
        const auto index = static_cast<int32_t>(symbols.size());
        symbols.push_back({id, index - 1, index + 1});
    }
    if (symbols.empty()) return;
    symbols.back().next = -1;

    auto push_candidate = [&](int32_t left) {
        if (left < 0) return;
        const int32_t right = symbols[left].next;
        if (right < 0) return;
        if (const Merge* m = merges_->find(symbols[left].id, symbols[right].id)) {
            heap.push_back({m->rank, left, symbols[left].id, symbols[right].id, m->result});
            std::push_heap(heap.begin(), heap.end(), later);
        }
    };
    for (int32_t i = 0; i + 1 < static_cast<int32_t>(symbols.size()); ++i) push_candidate(i);

    while (!heap.empty()) {
        std::pop_heap(heap.begin(), heap.end(), later);
        const Candidate c = heap.back();
        heap.pop_back();
        Symbol& left = symbols[c.left];
        // Stale when either half has merged since: ids only ever grow longer,
        // so equal ids at the same position mean the very same pair.
        if (left.id != c.left_id || left.next < 0 || symbols[left.next].id != c.right_id) continue;
        const int32_t right_index = left.next;
        left.id = c.result;
        left.next = symbols[right_index].next;
        if (left.next >= 0) symbols[left.next].prev = c.left;
        symbols[right_index].id = -1;
        push_candidate(left.prev);
        push_candidate(c.left);
    }
    for (int32_t i = 0; i >= 0; i = symbols[i].next) out.push_back(symbols[i].id);
}

}  // namespace apr::tokenizer
