// Token sampling: penalties -> top-k -> top-p -> min-p -> temperature -> draw,
// in llama.cpp's default order; greedy is the argmax after penalties.
#include <algorithm>
#include <cmath>

#include "apr/sampling.hpp"
#include "core/fail.hpp"

namespace apr {

void validate(const SamplingParams& p) {
    auto bad = [](const char* name, double value, const char* range) {
        fail(ErrorCode::invalid_argument, "sampling parameter {} = {} is out of range ({})", name, value, range);
    };
    if (!std::isfinite(p.temperature) || p.temperature < 0) bad("temperature", p.temperature, ">= 0");
    if (p.top_k < 0) bad("top_k", static_cast<double>(p.top_k), ">= 0");
    if (!(p.top_p > 0.0 && p.top_p <= 1.0)) bad("top_p", p.top_p, "0 < p <= 1");
    if (!(p.min_p >= 0.0 && p.min_p <= 1.0)) bad("min_p", p.min_p, "0..1");
    if (!(p.repeat_penalty > 0.0) || !std::isfinite(p.repeat_penalty)) bad("repeat_penalty", p.repeat_penalty, "> 0");
    if (!std::isfinite(p.presence_penalty)) bad("presence_penalty", p.presence_penalty, "finite");
    if (!std::isfinite(p.frequency_penalty)) bad("frequency_penalty", p.frequency_penalty, "finite");
    if (p.penalty_last_n < -1) bad("penalty_last_n", static_cast<double>(p.penalty_last_n), ">= -1");
}

// ---- xoshiro256** (Blackman & Vigna), seeded through splitmix64 -------------
Rng::Rng(uint64_t seed) {
    uint64_t z = seed;
    for (uint64_t& s : s_) {
        z += 0x9e3779b97f4a7c15ull;
        uint64_t x = z;
        x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
        x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
        s = x ^ (x >> 31);
    }
}

uint64_t Rng::next() {
    auto rotl = [](uint64_t x, int k) { return (x << k) | (x >> (64 - k)); };
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
}

double Rng::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

// ---- log-probabilities --------------------------------------------------------
namespace {
// NaN sorts as -inf: sorting with a comparator that NaN breaks is undefined
// behaviour, and extreme penalties (inf - inf) or a broken model can make one.
inline float order_key(float v) { return std::isnan(v) ? -INFINITY : v; }

double log_sum_exp(std::span<const float> logits, float* max_out) {
    float max = -INFINITY;
    for (float v : logits) max = std::max(max, v);
    double sum = 0.0;
    for (float v : logits) sum += std::exp(static_cast<double>(v) - max);
    *max_out = max;
    return std::log(sum);
}
}  // namespace

std::vector<TokenLogprob> top_logprobs(std::span<const float> logits, int64_t k) {
    if (logits.empty() || k <= 0) return {};
    float max = 0;
    const double lse = log_sum_exp(logits, &max);
    k = std::min<int64_t>(k, static_cast<int64_t>(logits.size()));
    std::vector<int32_t> ids(logits.size());
    for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int32_t>(i);
    std::partial_sort(ids.begin(), ids.begin() + k, ids.end(), [&](int32_t a, int32_t b) {
        const float x = order_key(logits[a]), y = order_key(logits[b]);
        return x != y ? x > y : a < b;
    });
    std::vector<TokenLogprob> out;
    out.reserve(static_cast<size_t>(k));
    for (int64_t i = 0; i < k; ++i)
        out.push_back({ids[i], static_cast<float>(static_cast<double>(logits[ids[i]]) - max - lse)});
    return out;
}

float logprob_of(std::span<const float> logits, int32_t id) {
    if (id < 0 || static_cast<size_t>(id) >= logits.size())
        fail(ErrorCode::invalid_argument, "logprob_of: token id {} outside 0..{}", id, logits.size());
    float max = 0;
    const double lse = log_sum_exp(logits, &max);
    return static_cast<float>(static_cast<double>(logits[id]) - max - lse);
}

// ---- Sampler --------------------------------------------------------------------
Sampler::Sampler(const SamplingParams& params) : params_(params), rng_(params.seed) { validate(params); }

void Sampler::reset() {
    rng_ = Rng(params_.seed);
    recent_.clear();
}

void Sampler::accept(int32_t token) {
    recent_.push_back(token);
    const int64_t keep = params_.penalty_last_n;
    if (keep >= 0)
        while (static_cast<int64_t>(recent_.size()) > keep) recent_.pop_front();
}

int32_t Sampler::sample(std::span<const float> logits) {
    if (logits.empty()) fail(ErrorCode::invalid_argument, "sample: no logits");
    const bool penalize = !recent_.empty() && (params_.repeat_penalty != 1.0 || params_.presence_penalty != 0.0 ||
                                               params_.frequency_penalty != 0.0);
    std::span<const float> l = logits;
    if (penalize) {
        penalized_.assign(logits.begin(), logits.end());
        // Count each recent token once, then penalize it by its count.
        std::vector<int32_t>& sorted = sorted_recent_;
        sorted.assign(recent_.begin(), recent_.end());
        std::sort(sorted.begin(), sorted.end());
        for (size_t i = 0; i < sorted.size();) {
            size_t j = i;
            while (j < sorted.size() && sorted[j] == sorted[i]) ++j;
            const int32_t id = sorted[i];
            const double count = static_cast<double>(j - i);
            if (id >= 0 && static_cast<size_t>(id) < penalized_.size()) {
                float& v = penalized_[static_cast<size_t>(id)];
                v = v <= 0 ? static_cast<float>(v * params_.repeat_penalty)
                           : static_cast<float>(v / params_.repeat_penalty);
                v -= static_cast<float>(count * params_.frequency_penalty + params_.presence_penalty);
            }
            i = j;
        }
        l = penalized_;
    }

    if (params_.temperature <= 0.0) {  // greedy: first maximum wins
        size_t best = 0;
        for (size_t i = 1; i < l.size(); ++i)
            if (l[i] > l[best]) best = i;
        return static_cast<int32_t>(best);
    }

    candidates_.resize(l.size());
    for (size_t i = 0; i < l.size(); ++i) candidates_[i] = {static_cast<int32_t>(i), order_key(l[i])};
    auto better = [](const Candidate& a, const Candidate& b) { return a.logit != b.logit ? a.logit > b.logit : a.id < b.id; };
    size_t n = candidates_.size();
    if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < n) {
        n = static_cast<size_t>(params_.top_k);
        std::partial_sort(candidates_.begin(), candidates_.begin() + static_cast<std::ptrdiff_t>(n), candidates_.end(),
                          better);
    } else {
        std::sort(candidates_.begin(), candidates_.end(), better);
    }
    // Probabilities of the kept candidates (sorted best first).
    probs_.resize(n);
    const float max = candidates_[0].logit;
    double sum = 0.0;
    for (size_t i = 0; i < n; ++i) sum += (probs_[i] = std::exp(static_cast<double>(candidates_[i].logit) - max));
    for (size_t i = 0; i < n; ++i) probs_[i] /= sum;
    if (params_.top_p < 1.0) {
        double cum = 0.0;
        size_t keep = n;
        for (size_t i = 0; i < n; ++i) {
            cum += probs_[i];
            if (cum >= params_.top_p) {
                keep = i + 1;
                break;
            }
        }
        n = keep;
    }
    if (params_.min_p > 0.0) {
        const double threshold = params_.min_p * probs_[0];
        size_t keep = 1;
        while (keep < n && probs_[keep] >= threshold) ++keep;
        n = keep;
    }
    // Temperature, then a draw from the renormalized distribution.
    sum = 0.0;
    for (size_t i = 0; i < n; ++i)
        sum += (probs_[i] = std::exp((static_cast<double>(candidates_[i].logit) - max) / params_.temperature));
    double u = rng_.uniform() * sum;
    for (size_t i = 0; i < n; ++i) {
        u -= probs_[i];
        if (u < 0) return candidates_[i].id;
    }
    return candidates_[n - 1].id;
}

}  // namespace apr
