// Sessions: a KV cache and a position on a shared Model.
#include "apr/session.hpp"

#include <algorithm>
#include <limits>
#include <memory>

#include "core/fail.hpp"
#include "model/model_impl.hpp"

namespace apr {
namespace model {

namespace {
// Only for files that do not say how long a context they were trained for.
constexpr int64_t kUnknownTrainedContext = 4096;

int64_t resolve_context(const ModelConfig& c, int64_t requested) {
    if (requested < 0) fail(ErrorCode::invalid_argument, "session params: context_length = {} (must be >= 0)", requested);
    if (c.context_length > 0 && requested > c.context_length)
        fail(ErrorCode::invalid_argument,
             "context size {} is larger than the model's trained context of {} positions", requested, c.context_length);
    // Positions are int32_t; a file that does not state its trained context
    // must not let a huge request through to the cache's size arithmetic.
    if (requested > std::numeric_limits<int32_t>::max())
        fail(ErrorCode::invalid_argument, "context size {} is larger than {} positions", requested,
             std::numeric_limits<int32_t>::max());
    if (requested > 0) return requested;
    return c.context_length > 0 ? c.context_length : kUnknownTrainedContext;
}
}  // namespace

void SessionImpl::run(std::span<const int32_t> tokens, bool all_logits, float* logits, int32_t* argmax) {
    const int64_t n = static_cast<int64_t>(tokens.size());
    if (n == 0) fail(ErrorCode::invalid_argument, "evaluate: no tokens");
    if (position + n > context_length)
        fail(ErrorCode::context_overflow,
             "context overflow: {} new tokens + {} already in the session = {} > context size {}", n, position,
             position + n, context_length);
    for (int64_t i = 0; i < n; ++i)
        if (tokens[i] < 0 || tokens[i] >= m->config.vocab_size)
            fail(ErrorCode::invalid_argument, "evaluate: token id {} at index {} is outside the vocabulary (0..{})",
                 tokens[i], i, m->config.vocab_size - 1);
    const int64_t vocab = m->config.vocab_size;
    cache->resize(position + n);  // blocks for every new position; throws before anything changes
    try {
        run_batches(tokens, all_logits, logits, vocab, argmax);
    } catch (...) {
        cache->resize(position);  // give back the blocks of positions that were not kept
        throw;
    }
}

void SessionImpl::run_batches(std::span<const int32_t> tokens, bool all_logits, float* logits, int64_t vocab,
                              int32_t* argmax) {
    const int64_t n = static_cast<int64_t>(tokens.size());
    for (int64_t start = 0; start < n; start += batch_size) {
        const int64_t count = std::min(batch_size, n - start);
        positions.resize(static_cast<size_t>(count));
        for (int64_t i = 0; i < count; ++i) positions[static_cast<size_t>(i)] = static_cast<int32_t>(position + i);
        logit_rows.clear();
        if (all_logits) {
            for (int64_t i = 0; i < count; ++i) logit_rows.push_back(static_cast<int32_t>(i));
        } else if (start + count == n) {
            logit_rows.push_back(static_cast<int32_t>(count - 1));
        }
        const SeqSlice seq{cache.get(), 0, count};
        Batch batch{tokens.subspan(static_cast<size_t>(start), static_cast<size_t>(count)), positions,
                    std::span<const SeqSlice>(&seq, 1), logit_rows};
        forward(m->config, m->weights, buffers, batch, observer, all_logits ? logits + start * vocab : logits, argmax);
        position += count;
    }
}

}  // namespace model

std::string_view kv_cache_type_name(KVCacheType type) noexcept {
    switch (type) {
        case KVCacheType::f16: return "f16";
        case KVCacheType::f32: return "f32";
        case KVCacheType::q8_0: return "q8_0";
    }
    return "unknown";
}

double kv_cache_value_bytes(KVCacheType type) noexcept {
    switch (type) {
        case KVCacheType::f16: return 2.0;
        case KVCacheType::f32: return 4.0;
        case KVCacheType::q8_0: return 34.0 / 32.0;
    }
    return 0.0;
}

std::optional<KVCacheType> kv_cache_type_from_name(std::string_view name) noexcept {
    for (KVCacheType t : {KVCacheType::f16, KVCacheType::f32, KVCacheType::q8_0})
        if (name == kv_cache_type_name(t)) return t;
    return std::nullopt;
}

KVCacheType default_kv_cache_type(const Model& model) {
    return model.impl().full_precision_weights ? KVCacheType::f32 : KVCacheType::f16;
}

Session::Session(const Model& model, const SessionParams& params) {
    model::ModelImpl& m = model.impl();
    const int64_t ctx = model::resolve_context(m.config, params.context_length);
    if (params.batch_size <= 0)
        fail(ErrorCode::invalid_argument, "session params: batch_size = {} (must be > 0)", params.batch_size);
    const int64_t batch = std::min(params.batch_size, ctx);
    const KVCacheType kv_type = params.kv_cache_type.value_or(default_kv_cache_type(model));
    auto cache = model::make_kv_cache(m.weights, m.config, ctx, kv_type);
    impl_.reset(new model::SessionImpl{&model, &m, ctx, kv_type, batch, params.observer, std::move(cache),
                                       model::ForwardBuffers(m.weights, m.config, batch), 0, {}, {}, {}});
    impl_->last_logits.resize(static_cast<size_t>(m.config.vocab_size));
    impl_->positions.reserve(static_cast<size_t>(batch));
    impl_->logit_rows.reserve(static_cast<size_t>(batch));
}

Session::~Session() = default;

const Model& Session::model() const { return *impl_->model; }
int64_t Session::context_length() const { return impl_->context_length; }
KVCacheType Session::kv_cache_type() const { return impl_->kv_type; }
int64_t Session::position() const { return impl_->position; }
void Session::reset() {
    impl_->position = 0;
    impl_->cache->resize(0);
}

void Session::truncate(int64_t length) {
    if (length < 0 || length > impl_->position)
        fail(ErrorCode::invalid_argument, "session truncate: length {} outside 0..{}", length, impl_->position);
    impl_->position = length;
    impl_->cache->resize(length);
}

bool Session::copy_prefix_from(const Session& other, int64_t length) {
    if (other.impl_->m != impl_->m) fail(ErrorCode::invalid_argument, "session copy_prefix_from: the other session runs another model");
    if (other.impl_->kv_type != impl_->kv_type)
        fail(ErrorCode::invalid_argument, "session copy_prefix_from: KV-cache types differ ({} vs {})",
             kv_cache_type_name(other.impl_->kv_type), kv_cache_type_name(impl_->kv_type));
    if (length < 0 || length > other.impl_->position || length > impl_->context_length)
        fail(ErrorCode::invalid_argument, "session copy_prefix_from: length {} outside 0..{}", length,
             std::min(other.impl_->position, impl_->context_length));
    if (&other == this) {
        truncate(length);
        return true;
    }
    if (!impl_->cache->copy_prefix_from(*other.impl_->cache, length)) return false;
    impl_->position = length;
    return true;
}

int64_t Session::kv_cache_bytes() const { return impl_->cache->bytes(); }

std::span<const float> Session::evaluate(std::span<const int32_t> tokens) {
    impl_->run(tokens, false, impl_->last_logits.data());
    return impl_->last_logits;
}

int32_t Session::evaluate_greedy(std::span<const int32_t> tokens) {
    int32_t id = -1;
    impl_->run(tokens, false, nullptr, &id);
    return id;
}

std::vector<float> Session::evaluate_all(std::span<const int32_t> tokens) {
    std::vector<float> logits(tokens.size() * static_cast<size_t>(impl_->m->config.vocab_size));
    impl_->run(tokens, true, logits.data());
    return logits;
}

void Session::set_observer(Observer* observer) { impl_->observer = observer; }
Observer* Session::observer() const { return impl_->observer; }

std::vector<float> evaluate_batch(std::span<Session* const> sessions, std::span<const int32_t> tokens) {
    if (sessions.empty()) fail(ErrorCode::invalid_argument, "evaluate_batch: no sessions");
    if (sessions.size() != tokens.size())
        fail(ErrorCode::invalid_argument, "evaluate_batch: {} sessions but {} tokens", sessions.size(), tokens.size());
    model::ModelImpl* m = nullptr;
    for (size_t i = 0; i < sessions.size(); ++i) {
        if (sessions[i] == nullptr) fail(ErrorCode::invalid_argument, "evaluate_batch: session {} is null", i);
        model::SessionImpl& s = sessions[i]->impl();
        if (m == nullptr) m = s.m;
        if (s.m != m) fail(ErrorCode::invalid_argument, "evaluate_batch: session {} runs another model", i);
        for (size_t j = 0; j < i; ++j)
            if (sessions[j] == sessions[i]) fail(ErrorCode::invalid_argument, "evaluate_batch: session {} appears twice", i);
        if (s.position + 1 > s.context_length)
            fail(ErrorCode::context_overflow, "evaluate_batch: session {} is full ({} positions)", i, s.context_length);
        if (tokens[i] < 0 || tokens[i] >= m->config.vocab_size)
            fail(ErrorCode::invalid_argument, "evaluate_batch: token id {} for session {} is outside the vocabulary (0..{})",
                 tokens[i], i, m->config.vocab_size - 1);
    }
    const int64_t n = static_cast<int64_t>(sessions.size());
    std::vector<int32_t> positions(sessions.size());
    std::vector<model::SeqSlice> seqs;
    std::vector<int32_t> rows(sessions.size());
    for (int64_t i = 0; i < n; ++i) {
        model::SessionImpl& s = sessions[static_cast<size_t>(i)]->impl();
        positions[static_cast<size_t>(i)] = static_cast<int32_t>(s.position);
        seqs.push_back({s.cache.get(), i, 1});
        rows[static_cast<size_t>(i)] = static_cast<int32_t>(i);
    }
    // The first session's buffers carry the batch when they are big enough;
    // a scheduler that batches often would keep its own (see docs/architecture.md).
    model::SessionImpl& first = sessions[0]->impl();
    std::unique_ptr<model::ForwardBuffers> own;
    model::ForwardBuffers* buffers = &first.buffers;
    if (first.buffers.capacity < n) {
        own = std::make_unique<model::ForwardBuffers>(m->weights, m->config, n);
        buffers = own.get();
    }
    std::vector<float> logits(static_cast<size_t>(n * m->config.vocab_size));
    const model::Batch batch{tokens, positions, seqs, rows};
    size_t grown = 0;
    try {
        for (; grown < sessions.size(); ++grown) {
            model::SessionImpl& s = sessions[grown]->impl();
            s.cache->resize(s.position + 1);
        }
        model::forward(m->config, m->weights, *buffers, batch, first.observer, logits.data());
    } catch (...) {
        for (size_t i = 0; i < grown; ++i) sessions[i]->impl().cache->resize(sessions[i]->impl().position);
        throw;
    }
    for (Session* s : sessions) ++s->impl().position;
    return logits;
}

}  // namespace apr
