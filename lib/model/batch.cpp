// BatchEvaluator: several sessions, several tokens each, one forward pass.
// The forward pass already takes any set of rows with their own positions
// and caches (model::Batch); this file builds that batch from per-session
// token spans and owns activation buffers sized for the whole batch.
#include "apr/batch.hpp"

#include <algorithm>

#include "core/fail.hpp"
#include "model/model_impl.hpp"

namespace apr {

struct BatchEvaluator::Impl {
    const Model* model;
    model::ModelImpl* m;
    int64_t max_tokens;
    model::ForwardBuffers buffers;
    std::vector<int32_t> tokens, positions, logit_rows;
    std::vector<model::SeqSlice> seqs;
    std::vector<float> logits;
    std::vector<int32_t> ids;
};

BatchEvaluator::BatchEvaluator(const Model& model, int64_t max_tokens) {
    if (max_tokens <= 0) fail(ErrorCode::invalid_argument, "batch evaluator: max_tokens = {} (must be > 0)", max_tokens);
    model::ModelImpl& m = model.impl();
    impl_.reset(new Impl{&model, &m, max_tokens, model::ForwardBuffers(m.weights, m.config, max_tokens), {}, {}, {}, {}, {}});
}

BatchEvaluator::~BatchEvaluator() = default;

int64_t BatchEvaluator::max_tokens() const { return impl_->max_tokens; }

std::span<const float> BatchEvaluator::evaluate(std::span<const BatchItem> items) {
    run(items, false);
    return impl_->logits;
}

std::span<const int32_t> BatchEvaluator::evaluate_greedy(std::span<const BatchItem> items) {
    run(items, true);
    return impl_->ids;
}

void BatchEvaluator::run(std::span<const BatchItem> items, bool greedy) {
    Impl& b = *impl_;
    if (items.empty()) fail(ErrorCode::invalid_argument, "evaluate batch: no items");
    const int64_t vocab = b.m->config.vocab_size;
    int64_t total = 0;
    for (size_t i = 0; i < items.size(); ++i) {
        const BatchItem& it = items[i];
        if (it.session == nullptr) fail(ErrorCode::invalid_argument, "evaluate batch: item {} has no session", i);
        model::SessionImpl& s = it.session->impl();
        if (s.m != b.m) fail(ErrorCode::invalid_argument, "evaluate batch: item {} runs another model", i);
        for (size_t j = 0; j < i; ++j)
            if (items[j].session == it.session)
                fail(ErrorCode::invalid_argument, "evaluate batch: items {} and {} name the same session", j, i);
        const int64_t n = static_cast<int64_t>(it.tokens.size());
        if (n == 0) fail(ErrorCode::invalid_argument, "evaluate batch: item {} has no tokens", i);
        if (s.position + n > s.context_length)
            fail(ErrorCode::context_overflow, "evaluate batch: item {}: {} tokens in the session + {} new > context length {}",
                 i, s.position, n, s.context_length);
        for (int64_t k = 0; k < n; ++k)
            if (it.tokens[k] < 0 || it.tokens[k] >= vocab)
                fail(ErrorCode::invalid_argument, "evaluate batch: item {}: token id {} is outside the vocabulary (0..{})", i,
                     it.tokens[k], vocab - 1);
        total += n;
    }
    if (total > b.max_tokens)
        fail(ErrorCode::invalid_argument, "evaluate batch: {} tokens in all > the evaluator's max_tokens {}", total,
             b.max_tokens);

    b.tokens.clear();
    b.positions.clear();
    b.logit_rows.clear();
    b.seqs.clear();
    for (const BatchItem& it : items) {
        model::SessionImpl& s = it.session->impl();
        const int64_t first = static_cast<int64_t>(b.tokens.size());
        const int64_t n = static_cast<int64_t>(it.tokens.size());
        for (int64_t k = 0; k < n; ++k) {
            b.tokens.push_back(it.tokens[k]);
            b.positions.push_back(static_cast<int32_t>(s.position + k));
        }
        b.seqs.push_back({s.cache.get(), first, n});
        if (it.want_logits) b.logit_rows.push_back(static_cast<int32_t>(first + n - 1));
    }
    if (greedy) b.ids.resize(b.logit_rows.size());
    else b.logits.resize(b.logit_rows.size() * static_cast<size_t>(vocab));
    const model::Batch batch{b.tokens, b.positions, b.seqs, b.logit_rows};
    // Cache blocks for every new position (paged: a session holds only what
    // it has filled); if anything fails, each session gives back what it
    // took here and keeps its position.
    size_t grown = 0;
    try {
        for (; grown < items.size(); ++grown) {
            model::SessionImpl& s = items[grown].session->impl();
            s.cache->resize(s.position + static_cast<int64_t>(items[grown].tokens.size()));
        }
        model::forward(b.m->config, b.m->weights, b.buffers, batch, items[0].session->impl().observer,
                       greedy ? nullptr : b.logits.data(), greedy ? b.ids.data() : nullptr);
    } catch (...) {
        for (size_t i = 0; i < grown; ++i) items[i].session->impl().cache->resize(items[i].session->impl().position);
        throw;
    }
    for (const BatchItem& it : items) it.session->impl().position += static_cast<int64_t>(it.tokens.size());
}

}  // namespace apr
