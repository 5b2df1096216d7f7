// C ABI: tokenizers (a model's or one opened from a file), tokenize,
// detokenize, pieces and special ids.
#include <memory>
#include <string_view>

#include "apr/error.hpp"
#include "apr/tokenizer.hpp"
#include "capi_internal.hpp"
#include "model/model_impl.hpp"

// Shared: a model's tokenizer handle keeps the tokenizer alive after the model.
struct apr_tokenizer {
    std::shared_ptr<const apr::Tokenizer> tokenizer;
};

namespace {
using apr::capi::require;

const apr::Tokenizer& get(const apr_tokenizer* t, const char* fn) {
    if (t == nullptr) throw apr::Error(apr::ErrorCode::invalid_argument, std::string(fn) + ": tokenizer is NULL");
    return *t->tokenizer;
}
}  // namespace

extern "C" {

apr_status apr_tokenizer_open(const char* path, apr_tokenizer** out) {
    if (out) *out = nullptr;
    return apr::capi::guarded([&] {
        require(path != nullptr && out != nullptr, "apr_tokenizer_open: path or out is NULL");
        auto handle = std::make_unique<apr_tokenizer>();
        handle->tokenizer = apr::Tokenizer::from_file(path);
        *out = handle.release();
    });
}

apr_status apr_model_get_tokenizer(const apr_model* model, apr_tokenizer** out) {
    if (out) *out = nullptr;
    return apr::capi::guarded([&] {
        require(model != nullptr && out != nullptr, "apr_model_get_tokenizer: model or out is NULL");
        std::shared_ptr<const apr::Tokenizer> tok = model->model->impl().tokenizer;
        if (!tok)
            throw apr::Error(apr::ErrorCode::not_found,
                             model->model->file().path().string() + ": the model file has no tokenizer");
        auto handle = std::make_unique<apr_tokenizer>();
        handle->tokenizer = std::move(tok);
        *out = handle.release();
    });
}

void apr_tokenizer_free(apr_tokenizer* tokenizer) { delete tokenizer; }

apr_status apr_tokenize(const apr_tokenizer* tokenizer, const char* text, size_t text_len, int32_t parse_special,
                        int32_t** out_ids, size_t* out_count) {
    if (out_ids) *out_ids = nullptr;
    if (out_count) *out_count = 0;
    return apr::capi::guarded([&] {
        const apr::Tokenizer& tok = get(tokenizer, "apr_tokenize");
        require(out_ids != nullptr && out_count != nullptr, "apr_tokenize: out_ids or out_count is NULL");
        require(text != nullptr || text_len == 0, "apr_tokenize: text is NULL");
        const std::vector<int32_t> ids = tok.encode(std::string_view(text ? text : "", text_len), parse_special != 0);
        *out_ids = apr::capi::copy_tokens(ids);
        *out_count = ids.size();
    });
}

apr_status apr_detokenize(const apr_tokenizer* tokenizer, const int32_t* ids, size_t count, int32_t skip_special,
                          char** out_text, size_t* out_len) {
    if (out_text) *out_text = nullptr;
    if (out_len) *out_len = 0;
    return apr::capi::guarded([&] {
        const apr::Tokenizer& tok = get(tokenizer, "apr_detokenize");
        require(out_text != nullptr && out_len != nullptr, "apr_detokenize: out_text or out_len is NULL");
        require(ids != nullptr || count == 0, "apr_detokenize: ids is NULL");
        const std::string text = tok.decode(std::span<const int32_t>(ids, count), skip_special != 0);
        *out_text = apr::capi::copy_string(text);
        *out_len = text.size();
    });
}

apr_status apr_token_to_piece(const apr_tokenizer* tokenizer, int32_t id, char** out_piece, size_t* out_len) {
    if (out_piece) *out_piece = nullptr;
    if (out_len) *out_len = 0;
    return apr::capi::guarded([&] {
        const apr::Tokenizer& tok = get(tokenizer, "apr_token_to_piece");
        require(out_piece != nullptr && out_len != nullptr, "apr_token_to_piece: out_piece or out_len is NULL");
        const std::string bytes = tok.decode_bytes(std::span<const int32_t>(&id, 1));
        *out_piece = apr::capi::copy_string(bytes);
        *out_len = bytes.size();
    });
}

apr_status apr_token_from_piece(const apr_tokenizer* tokenizer, const char* piece, int32_t* out_id) {
    if (out_id) *out_id = -1;
    return apr::capi::guarded([&] {
        const apr::Tokenizer& tok = get(tokenizer, "apr_token_from_piece");
        require(piece != nullptr && out_id != nullptr, "apr_token_from_piece: piece or out_id is NULL");
        const std::optional<int32_t> id = tok.token_id(piece);
        if (!id) throw apr::Error(apr::ErrorCode::not_found, std::string("no vocabulary entry '") + piece + "'");
        *out_id = *id;
    });
}

int64_t apr_tokenizer_vocab_size(const apr_tokenizer* t) { return t ? t->tokenizer->vocab_size() : 0; }
int32_t apr_tokenizer_bos_id(const apr_tokenizer* t) { return t ? t->tokenizer->bos_id().value_or(-1) : -1; }
int32_t apr_tokenizer_eos_id(const apr_tokenizer* t) { return t ? t->tokenizer->eos_id().value_or(-1) : -1; }
int32_t apr_tokenizer_pad_id(const apr_tokenizer* t) { return t ? t->tokenizer->pad_id().value_or(-1) : -1; }
int32_t apr_tokenizer_add_bos(const apr_tokenizer* t) { return t && t->tokenizer->add_bos() ? 1 : 0; }
int32_t apr_tokenizer_is_control(const apr_tokenizer* t, int32_t id) {
    if (t == nullptr || id < 0 || id >= t->tokenizer->vocab_size()) return 0;
    return t->tokenizer->is_control(id) ? 1 : 0;
}

}  // extern "C"
