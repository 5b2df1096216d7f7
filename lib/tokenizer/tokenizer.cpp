// apr::Tokenizer: building from a spec, encoding and decoding.
#include <algorithm>
#include <string>

#include "core/fail.hpp"
#include "tokenizer/byte_level.hpp"
#include "tokenizer/tokenizer_impl.hpp"
#include "tokenizer/unicode.hpp"
#include "tokenizer/utf8_repair.hpp"

namespace apr {

using tokenizer::TokenKind;

namespace tokenizer {

std::unique_ptr<Tokenizer> build_tokenizer(TokenizerSpec spec) {
    auto impl = std::make_unique<Tokenizer::Impl>();
    const size_t n = spec.pieces.size();
    if (n == 0) fail(ErrorCode::bad_format, "{}: the tokenizer has no tokens", spec.source);
    if (n > size_t(INT32_MAX)) fail(ErrorCode::bad_format, "{}: too many tokens ({})", spec.source, n);
    if (spec.kinds.size() != n)
        fail(ErrorCode::bad_format, "{}: {} token types for {} tokens", spec.source, spec.kinds.size(), n);
    for (const auto* special : {&spec.bos, &spec.eos, &spec.pad}) {
        if (*special && (**special < 0 || size_t(**special) >= n))
            fail(ErrorCode::bad_format, "{}: special token id {} is outside the vocabulary of {} tokens",
                 spec.source, **special, n);
    }

    impl->source = std::move(spec.source);
    impl->pieces = std::move(spec.pieces);
    impl->kinds = std::move(spec.kinds);
    impl->bytes.resize(n);
    impl->vocab.reserve(n);
    for (size_t id = 0; id < n; ++id) {
        const std::string& piece = impl->pieces[id];
        const TokenKind kind = impl->kinds[id];
        if (!piece.empty()) impl->vocab.try_emplace(piece, static_cast<int32_t>(id));
        if (kind == TokenKind::unused) continue;  // padding entries decode to nothing
        // Added tokens are written as they read; the others in the byte-level
        // alphabet (a token outside it decodes to its text, as in Hugging Face).
        const bool raw = kind == TokenKind::control || kind == TokenKind::user_defined;
        if (raw || !tokenizer::byte_level_decode(piece, impl->bytes[id])) impl->bytes[id] = piece;
        if (raw) {
            const auto options = id < spec.added_options.size() ? spec.added_options[id] : AddedTokenOptions{};
            impl->added.add(piece, static_cast<int32_t>(id), kind == TokenKind::control, options.lstrip,
                            options.rstrip);
        }
    }

    const auto& alphabet = tokenizer::byte_level_alphabet();
    for (int b = 0; b < 256; ++b) {
        std::string piece;
        unicode::append_utf8(piece, alphabet[b]);
        const auto it = impl->vocab.find(piece);
        impl->byte_ids[b] = it == impl->vocab.end() ? -1 : it->second;
    }

    // A merge whose halves or result are missing from the vocabulary can
    // never apply; it is skipped rather than rejected.
    impl->merges.reserve(spec.merges.size());
    std::string joined;
    for (size_t rank = 0; rank < spec.merges.size(); ++rank) {
        const auto& [left, right] = spec.merges[rank];
        const auto l = impl->vocab.find(left);
        const auto r = impl->vocab.find(right);
        joined.assign(left).append(right);
        const auto m = impl->vocab.find(joined);
        if (l == impl->vocab.end() || r == impl->vocab.end() || m == impl->vocab.end()) continue;
        impl->merges.insert(l->second, r->second, {static_cast<int32_t>(rank), m->second});
    }

    impl->pre_tokenizer = spec.pre_tokenizer;
    impl->nfc = spec.nfc;
    impl->add_prefix_space = spec.add_prefix_space;
    impl->ignore_merges = spec.ignore_merges;
    impl->bos = spec.bos;
    impl->eos = spec.eos;
    impl->pad = spec.pad;
    impl->add_bos = spec.add_bos && spec.bos.has_value();
    return std::make_unique<Tokenizer>(std::move(impl));
}

}  // namespace tokenizer

void Tokenizer::Impl::encode_plain(std::string_view text, std::vector<int32_t>& out) const {
    if (text.empty()) return;
    std::string normalized;
    if (nfc && !unicode::is_nfc_quick(text)) {
        unicode::append_nfc(text, normalized);
        text = normalized;
    }
    if (add_prefix_space && text.front() != ' ') {
        std::string with_space = " ";
        with_space += text;
        normalized = std::move(with_space);
        text = normalized;
    }
    thread_local std::vector<std::string_view> words;
    words.clear();
    tokenizer::split_words(pre_tokenizer, text, words);
    const tokenizer::Bpe bpe(&merges, byte_ids, &vocab, ignore_merges);
    for (const std::string_view word : words) {
        if (word.size() == 1 || word.size() > tokenizer::WordCache::kMaxWordBytes) {  // not worth caching
            bpe.encode_word(word, out);
            continue;
        }
        const size_t hash = std::hash<std::string_view>{}(word);
        if (cache.lookup(word, hash, out)) continue;
        const size_t first = out.size();
        bpe.encode_word(word, out);
        cache.insert(word, hash, out.data() + first, out.size() - first);
    }
}

void Tokenizer::Impl::check_id(int32_t id) const {
    if (id < 0 || size_t(id) >= pieces.size())
        fail(ErrorCode::invalid_argument, "{}: token id {} is outside the vocabulary (0..{})", source, id,
             pieces.size() - 1);
}

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool parse_special) const {
    std::vector<int32_t> ids;
    ids.reserve(text.size() / 3 + 4);
    size_t pos = 0;
    while (pos < text.size()) {
        const auto match = impl_->added.empty() ? std::nullopt : impl_->added.find(text, pos, parse_special);
        const size_t stretch_end = match ? match->begin : text.size();
        impl_->encode_plain(text.substr(pos, stretch_end - pos), ids);
        if (!match) break;
        ids.push_back(match->id);
        pos = match->end;
    }
    return ids;
}

std::string Tokenizer::decode_bytes(std::span<const int32_t> ids, bool skip_special) const {
    std::string out;
    for (const int32_t id : ids) {
        impl_->check_id(id);
        if (skip_special && impl_->kinds[id] == TokenKind::control) continue;
        out += impl_->bytes[id];
    }
    return out;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
    const std::string bytes = decode_bytes(ids, skip_special);
    std::string text;
    text.reserve(bytes.size());
    tokenizer::append_utf8_repaired(bytes, true, text);
    return text;
}

std::string_view Tokenizer::token_text(int32_t id) const {
    impl_->check_id(id);
    return impl_->pieces[id];
}

std::optional<int32_t> Tokenizer::token_id(std::string_view piece) const {
    const auto it = impl_->vocab.find(piece);
    if (it == impl_->vocab.end()) return std::nullopt;
    return it->second;
}

int64_t Tokenizer::vocab_size() const { return static_cast<int64_t>(impl_->pieces.size()); }
std::optional<int32_t> Tokenizer::bos_id() const { return impl_->bos; }
std::optional<int32_t> Tokenizer::eos_id() const { return impl_->eos; }
std::optional<int32_t> Tokenizer::pad_id() const { return impl_->pad; }
bool Tokenizer::add_bos() const { return impl_->add_bos; }

bool Tokenizer::is_control(int32_t id) const {
    return id >= 0 && size_t(id) < impl_->kinds.size() && impl_->kinds[id] == TokenKind::control;
}

bool Tokenizer::is_added(int32_t id) const {
    return id >= 0 && size_t(id) < impl_->kinds.size() &&
           (impl_->kinds[id] == TokenKind::control || impl_->kinds[id] == TokenKind::user_defined);
}

std::string_view Tokenizer::pre_tokenizer() const { return tokenizer::pre_tokenizer_name(impl_->pre_tokenizer); }

StreamingDecoder::StreamingDecoder(const Tokenizer& tokenizer, bool skip_special)
    : tokenizer_(&tokenizer), skip_special_(skip_special) {}

std::string StreamingDecoder::push(int32_t id) {
    const int32_t one[1] = {id};
    pending_ += tokenizer_->decode_bytes(one, skip_special_);
    std::string text;
    const size_t used = tokenizer::append_utf8_repaired(pending_, false, text);
    pending_.erase(0, used);
    return text;
}

std::string StreamingDecoder::finish() {
    std::string text;
    tokenizer::append_utf8_repaired(pending_, true, text);
    pending_.clear();
    return text;
}

}  // namespace apr
