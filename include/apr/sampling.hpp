// Choosing the next token from logits: penalties, then top-k, top-p, min-p,
// temperature and a seeded draw (or greedy argmax when temperature is 0).
// The random generator is libapr's own fixed algorithm (xoshiro256**), so a
// seed gives the same tokens on every platform and thread count.
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <vector>

#include "apr/export.hpp"

namespace apr {

struct SamplingParams {
    double temperature = 0.0;       // 0: greedy (argmax after penalties); > 0 samples; negative is invalid
    int64_t top_k = 0;              // keep the k most likely; 0 = off
    double top_p = 1.0;             // keep the smallest set with mass >= p; 1 = off
    double min_p = 0.0;             // drop tokens below min_p * p(best); 0 = off
    double repeat_penalty = 1.0;    // divide positive / multiply negative logits of recent tokens; 1 = off
    double presence_penalty = 0.0;  // subtract once from every recent token's logit
    double frequency_penalty = 0.0; // subtract per occurrence of a recent token
    int64_t penalty_last_n = 64;    // how many recent tokens the penalties look at; -1 = all
    uint64_t seed = 0;
};

// Throws apr::Error(invalid_argument) naming the parameter out of range.
APR_API void validate(const SamplingParams& params);

// A seeded xoshiro256** generator (splitmix64-seeded).
class APR_API Rng {
public:
    explicit Rng(uint64_t seed);
    uint64_t next();
    double uniform();  // [0, 1) with 53 random bits
private:
    uint64_t s_[4];
};

// Natural-log softmax of raw logits: (id, logprob) of the k most likely,
// best first (ties: lower id first), and the logprob of any id.
struct TokenLogprob {
    int32_t id;
    float logprob;
};
APR_API std::vector<TokenLogprob> top_logprobs(std::span<const float> logits, int64_t k);
APR_API float logprob_of(std::span<const float> logits, int32_t id);

class APR_API Sampler {
public:
    explicit Sampler(const SamplingParams& params);
    // Picks a token. `logits` is not modified (the sampler copies what it needs).
    int32_t sample(std::span<const float> logits);
    // Records a token of the context (prompt or generated) for the penalties.
    void accept(int32_t token);
    void reset();
    const SamplingParams& params() const { return params_; }
    // Whether sample() is the first maximum of the raw logits (greedy, no
    // penalty set), so a caller may take Session::evaluate_greedy's id instead.
    bool picks_argmax() const {
        return params_.temperature <= 0.0 && params_.repeat_penalty == 1.0 && params_.presence_penalty == 0.0 &&
               params_.frequency_penalty == 0.0;
    }

private:
    SamplingParams params_;
    Rng rng_;
    std::deque<int32_t> recent_;
    struct Candidate {
        int32_t id;
        float logit;
    };
    // Reused between calls: no per-token allocation once warm.
    std::vector<Candidate> candidates_;
    std::vector<double> probs_;
    std::vector<float> penalized_;
    std::vector<int32_t> sorted_recent_;
};

}  // namespace apr
