// C ABI: sessions (create, truncate, evaluate, batched evaluation), the
// tracing observer and session state files.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "apr/error.hpp"
#include "apr/session.hpp"
#include "capi_internal.hpp"
#include "capi_layouts.hpp"

namespace apr::capi {

// Forwards the C++ observer events to a caller's function pointers.
class CObserver final : public apr::Observer {
public:
    explicit CObserver(const apr_observer& c) : c_(c) {}
    void on_op(const apr::OpEvent& e) override {
        if (c_.on_op == nullptr) return;
        apr_op_event ev{};
        ev.struct_size = sizeof(ev);
        ev.op = static_cast<int32_t>(e.op);
        ev.layer = e.layer;
        ev.name = e.name.data();
        ev.name_len = e.name.size();
        ev.output = e.output;
        ev.rows = e.rows;
        ev.cols = e.cols;
        ev.weight_type = apr::dtype_name(e.weight_type).data();  // string literals
        ev.weight_rows = e.weight_rows;
        ev.weight_cols = e.weight_cols;
        ev.kernel = e.kernel.data();
        ev.kernel_len = e.kernel.size();
        ev.ms = e.ms;
        c_.on_op(&ev, c_.user_data);
    }
    void on_batch_begin(const apr::BatchEvent& e) override {
        if (c_.on_batch_begin != nullptr) c_.on_batch_begin(batch_event(e, 0), c_.user_data);
    }
    void on_batch_end(const apr::BatchEvent& e) override {
        if (c_.on_batch_end != nullptr) c_.on_batch_end(batch_event(e, e.ms), c_.user_data);
    }
    void on_phase(apr::GenerationPhase phase) override {
        if (c_.on_phase != nullptr)
            c_.on_phase(phase == apr::GenerationPhase::prompt ? APR_PHASE_PROMPT : APR_PHASE_DECODE, c_.user_data);
    }
    void on_tokenize(const apr::TokenizeEvent& e) override {
        if (c_.on_tokenize == nullptr) return;
        apr_tokenize_event ev{};
        ev.struct_size = sizeof(ev);
        ev.text_bytes = e.text_bytes;
        ev.tokens = e.tokens;
        ev.ms = e.ms;
        c_.on_tokenize(&ev, c_.user_data);
    }
    void on_sample(const apr::SampleEvent& e) override {
        if (c_.on_sample == nullptr) return;
        apr_sample_event ev{};
        ev.struct_size = sizeof(ev);
        ev.step = e.step;
        ev.token = e.token;
        ev.logits = e.logits;
        ev.vocab = e.vocab;
        ev.ms = e.ms;
        c_.on_sample(&ev, c_.user_data);
    }
    bool wants_outputs() const override { return c_.wants_outputs != 0; }
    void on_layer(const apr::LayerEvent& e) override {
        if (c_.on_layer == nullptr) return;
        apr_layer_event ev{};
        ev.struct_size = sizeof(ev);
        ev.stage = static_cast<int32_t>(e.stage);
        ev.layer = e.layer;
        ev.hidden = e.hidden;
        ev.rows = e.rows;
        ev.cols = e.cols;
        ev.positions = e.positions;
        c_.on_layer(&ev, c_.user_data);
    }

private:
    const apr_batch_event* batch_event(const apr::BatchEvent& e, double ms) {
        batch_ = apr_batch_event{};
        batch_.struct_size = sizeof(batch_);
        batch_.rows = e.rows;
        batch_.positions = e.positions;
        batch_.sequences = e.sequences;
        batch_.layers = e.layers;
        batch_.ms = ms;
        return &batch_;
    }
    apr_observer c_;
    apr_batch_event batch_{};
};

}  // namespace apr::capi

namespace {

using apr::capi::require;

apr_session_params session_defaults() {
    apr_session_params p{};
    p.struct_size = sizeof(p);
    p.context_length = 0;
    p.kv_cache_f32 = 0;
    p.batch_size = apr::SessionParams{}.batch_size;
    p.kv_type = APR_KV_DEFAULT;
    return p;
}

apr::Session& get(apr_session* s, const char* fn) {
    if (s == nullptr) throw apr::Error(apr::ErrorCode::invalid_argument, std::string(fn) + ": session is NULL");
    return *s->session;
}

// ---- state files: "APRSTATE", format version, the model's shape, the ids ----
constexpr char kStateMagic[8] = {'A', 'P', 'R', 'S', 'T', 'A', 'T', 'E'};
constexpr uint32_t kStateVersion = 1;

struct StateHeader {
    char magic[8];
    uint32_t version;
    uint32_t reserved;
    int64_t vocab_size, num_layers, hidden_size, num_kv_heads, head_dim;
    int64_t token_count;
};

StateHeader header_for(const apr::ModelConfig& c, size_t count) {
    StateHeader h{};
    std::memcpy(h.magic, kStateMagic, sizeof(kStateMagic));
    h.version = kStateVersion;
    h.vocab_size = c.vocab_size;
    h.num_layers = c.num_layers;
    h.hidden_size = c.hidden_size;
    h.num_kv_heads = c.num_kv_heads;
    h.head_dim = c.head_dim;
    h.token_count = static_cast<int64_t>(count);
    return h;
}

[[noreturn]] void bad_state(const std::string& path, const std::string& what) {
    throw apr::Error(apr::ErrorCode::bad_format, path + ": not a session state of this model: " + what);
}

// Appends ids to the session in its batch size (one evaluate per batch keeps
// the prompt path's numerics).
void replay(apr_session* s, const std::vector<int32_t>& ids) {
    if (!ids.empty()) s->session->evaluate(ids);
    s->history = ids;
}

}  // namespace

extern "C" {

void apr_session_default_params(apr_session_params* params) {
    apr::capi::write_defaults(params, session_defaults(), "apr_session_default_params");
}

apr_status apr_session_create(apr_model* model, const apr_session_params* params, apr_session** out) {
    if (out) *out = nullptr;
    return apr::capi::guarded([&] {
        require(model != nullptr, "apr_session_create: model is NULL");
        require(out != nullptr, "apr_session_create: out is NULL");
        const apr_session_params p = apr::capi::read_params(params, session_defaults(), "apr_session_create");
        apr::SessionParams sp;
        sp.context_length = p.context_length;
        sp.batch_size = p.batch_size;
        switch (p.kv_type) {
            case APR_KV_DEFAULT:
                if (p.kv_cache_f32) sp.kv_cache_type = apr::KVCacheType::f32;
                break;
            case APR_KV_F32: sp.kv_cache_type = apr::KVCacheType::f32; break;
            case APR_KV_F16: sp.kv_cache_type = apr::KVCacheType::f16; break;
            case APR_KV_Q8_0:
                throw apr::Error(apr::ErrorCode::unsupported, "apr_session_create: the q8_0 KV cache is not in this build");
            default: require(false, "apr_session_create: params->kv_type must be an apr_kv_type (0..3)");
        }
        auto handle = std::make_unique<apr_session>();
        handle->model = model->model;
        handle->session = std::make_unique<apr::Session>(*handle->model, sp);
        *out = handle.release();
    });
}

void apr_session_free(apr_session* session) { delete session; }

void apr_session_reset(apr_session* session) {
    if (session == nullptr) return;
    session->session->reset();
    session->history.clear();
}

int64_t apr_session_position(const apr_session* session) { return session ? session->session->position() : 0; }
int64_t apr_session_context_length(const apr_session* session) {
    return session ? session->session->context_length() : 0;
}

apr_status apr_session_truncate(apr_session* session, int64_t length) {
    return apr::capi::guarded([&] {
        get(session, "apr_session_truncate").truncate(length);
        session->history.resize(static_cast<size_t>(length));
    });
}

apr_status apr_session_evaluate(apr_session* session, const int32_t* tokens, size_t count, const float** out_logits) {
    if (out_logits) *out_logits = nullptr;
    return apr::capi::guarded([&] {
        apr::Session& s = get(session, "apr_session_evaluate");
        require(out_logits != nullptr, "apr_session_evaluate: out_logits is NULL");
        require(tokens != nullptr && count > 0, "apr_session_evaluate: no tokens");
        const std::span<const float> logits = s.evaluate(std::span<const int32_t>(tokens, count));
        session->history.insert(session->history.end(), tokens, tokens + count);
        *out_logits = logits.data();
    });
}

apr_status apr_evaluate_batch(apr_session* const* sessions, const int32_t* tokens, size_t count, float* out_logits) {
    return apr::capi::guarded([&] {
        require(sessions != nullptr && tokens != nullptr && out_logits != nullptr && count > 0,
                "apr_evaluate_batch: sessions, tokens or out_logits is NULL, or count is 0");
        std::vector<apr::Session*> list(count);
        for (size_t i = 0; i < count; ++i) {
            if (sessions[i] == nullptr)
                throw apr::Error(apr::ErrorCode::invalid_argument, fmt::format("apr_evaluate_batch: sessions[{}] is NULL", i));
            list[i] = sessions[i]->session.get();
        }
        const std::vector<float> logits = apr::evaluate_batch(list, std::span<const int32_t>(tokens, count));
        std::copy(logits.begin(), logits.end(), out_logits);
        for (size_t i = 0; i < count; ++i) sessions[i]->history.push_back(tokens[i]);
    });
}

const char* apr_op_kind_name(int32_t op) {
    if (op < APR_OP_EMBED || op > APR_OP_LM_HEAD) return "unknown";
    return apr::op_kind_name(static_cast<apr::OpKind>(op)).data();  // string literals
}

apr_status apr_session_set_observer(apr_session* session, const apr_observer* observer) {
    return apr::capi::guarded([&] {
        apr::Session& s = get(session, "apr_session_set_observer");
        if (observer == nullptr) {
            s.set_observer(nullptr);
            session->observer.reset();
            return;
        }
        apr_observer defaults{};
        defaults.struct_size = sizeof(defaults);
        const apr_observer c = apr::capi::read_params(observer, defaults, "apr_session_set_observer");
        auto next = std::make_unique<apr::capi::CObserver>(c);
        s.set_observer(next.get());
        session->observer = std::move(next);  // the old one goes after the session stopped pointing at it
    });
}

apr_status apr_session_save_state(const apr_session* session, const char* path) {
    return apr::capi::guarded([&] {
        require(session != nullptr && path != nullptr, "apr_session_save_state: session or path is NULL");
        const StateHeader h = header_for(session->model->config(), session->history.size());
        // Written beside the target, then renamed: a failed save keeps the old file.
        const std::string tmp = std::string(path) + ".tmp";
        {
            std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
            if (!f) throw apr::Error(apr::ErrorCode::io, tmp + ": cannot open for writing");
            f.write(reinterpret_cast<const char*>(&h), sizeof(h));
            f.write(reinterpret_cast<const char*>(session->history.data()),
                    static_cast<std::streamsize>(session->history.size() * sizeof(int32_t)));
            f.flush();
            if (!f) {
                std::remove(tmp.c_str());
                throw apr::Error(apr::ErrorCode::io, tmp + ": write failed");
            }
        }
        std::error_code ec;
        std::filesystem::rename(tmp, path, ec);
        if (ec) {
            std::remove(tmp.c_str());
            throw apr::Error(apr::ErrorCode::io, std::string(path) + ": " + ec.message());
        }
    });
}

apr_status apr_session_load_state(apr_session* session, const char* path) {
    return apr::capi::guarded([&] {
        require(session != nullptr && path != nullptr, "apr_session_load_state: session or path is NULL");
        std::ifstream f(path, std::ios::binary);
        if (!f) {
            const bool exists = std::filesystem::exists(path);
            throw apr::Error(exists ? apr::ErrorCode::io : apr::ErrorCode::not_found,
                             std::string(path) + (exists ? ": cannot open" : ": no such file"));
        }
        StateHeader h{};
        if (!f.read(reinterpret_cast<char*>(&h), sizeof(h))) bad_state(path, "shorter than its header");
        if (std::memcmp(h.magic, kStateMagic, sizeof(kStateMagic)) != 0) bad_state(path, "no APRSTATE magic");
        if (h.version != kStateVersion) bad_state(path, fmt::format("format version {} (this libapr reads 1)", h.version));
        const apr::ModelConfig& c = session->model->config();
        const StateHeader want = header_for(c, 0);
        if (h.vocab_size != want.vocab_size || h.num_layers != want.num_layers || h.hidden_size != want.hidden_size ||
            h.num_kv_heads != want.num_kv_heads || h.head_dim != want.head_dim)
            bad_state(path, "saved from a model of another shape");
        if (h.token_count < 0 || h.token_count > session->session->context_length())
            bad_state(path, fmt::format("{} tokens do not fit the session's {} positions", h.token_count,
                                        session->session->context_length()));
        std::vector<int32_t> ids(static_cast<size_t>(h.token_count));
        if (!f.read(reinterpret_cast<char*>(ids.data()), static_cast<std::streamsize>(ids.size() * sizeof(int32_t))))
            bad_state(path, "truncated token list");
        if (f.peek() != std::char_traits<char>::eof()) bad_state(path, "trailing bytes after the token list");
        for (int32_t id : ids)
            if (id < 0 || id >= c.vocab_size) bad_state(path, fmt::format("token id {} outside the vocabulary", id));
        const std::vector<int32_t> before = session->history;
        session->session->reset();
        try {
            replay(session, ids);
        } catch (...) {
            session->session->reset();
            replay(session, before);
            throw;
        }
    });
}

}  // extern "C"
