#include "trace_diff.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

#include "apr/chat_template.hpp"
#include "apr/error.hpp"
#include "apr/model.hpp"
#include "apr/session.hpp"
#include "apr/tokenizer.hpp"
#include "apr/trace.hpp"
#include "json_text.hpp"

namespace apr::cli {
namespace {

// Keeps the last row of every layer boundary of one forward pass.
class LayerCapture final : public Observer {
public:
    void on_batch_begin(const BatchEvent&) override { rows_.clear(); }
    void on_layer(const LayerEvent& e) override {
        if (e.hidden == nullptr || e.rows <= 0) return;
        const float* last = e.hidden + (e.rows - 1) * e.cols;
        rows_.emplace_back(last, last + e.cols);
    }
    bool wants_outputs() const override { return true; }
    const std::vector<std::vector<float>>& rows() const { return rows_; }

private:
    std::vector<std::vector<float>> rows_;
};

double rel_diff(const std::vector<float>& a, const std::vector<float>& b) {
    if (a.size() != b.size()) return INFINITY;
    double num = 0, den = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        const double d = static_cast<double>(a[i]) - b[i];
        num += d * d;
        den += static_cast<double>(b[i]) * b[i];
    }
    if (std::isnan(num)) return INFINITY;
    return std::sqrt(num) / std::max(std::sqrt(den), 1e-12);
}

std::string stage_name(size_t index, size_t count) {
    if (index == 0) return "embedding";
    if (index + 1 == count) return "final norm";
    return fmt::format("layer {}", index - 1);
}

int32_t argmax(std::span<const float> logits) {
    return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

// The gap between the best and second-best logit (a near-tie when small).
double top2_gap(std::span<const float> logits) {
    float best = -INFINITY, second = -INFINITY;
    for (float v : logits) {
        if (v > best) second = best, best = v;
        else if (v > second) second = v;
    }
    return best - second;
}

std::string stats_json(const trace::TensorStats& s) {
    return fmt::format("{{\"min\": {}, \"max\": {}, \"mean\": {}, \"std\": {}, \"nan\": {}, \"inf\": {}, \"zeros\": {}}}",
                       json_number(s.min), json_number(s.max), json_number(s.mean), json_number(s.std), s.nan, s.inf,
                       s.zeros);
}

std::string stats_text(const trace::TensorStats& s) {
    return fmt::format("mean={:.4g} std={:.4g} min={:.4g} max={:.4g}{}{}", s.mean, s.std, s.min, s.max,
                       s.nan ? fmt::format(" nan={}", s.nan) : "", s.inf ? fmt::format(" inf={}", s.inf) : "");
}

std::string render_prompt(const Model& model, const TraceDiffOptions& o) {
    if (o.raw) return o.system ? *o.system + o.prompt : o.prompt;
    std::vector<ChatMessage> messages;
    if (o.system) messages.push_back({"system", *o.system, {}});
    messages.push_back({"user", o.prompt, {}});
    return ChatTemplate::from_model_file(model.file()).render(messages, true);
}

}  // namespace

int run_trace_diff(const TraceDiffOptions& o) {
    ModelParams mp;
    mp.threads = static_cast<int>(o.threads);
    auto a = Model::load(o.model_a, mp);
    auto b = Model::load(o.model_b, mp);
    if (a->tokenizer() == nullptr || b->tokenizer() == nullptr)
        throw Error(ErrorCode::unsupported, "--trace-diff: both models need a tokenizer");
    const std::string text = render_prompt(*a, o);
    std::vector<int32_t> ids_a = a->tokenizer()->encode(text), ids_b = b->tokenizer()->encode(text);
    if (a->tokenizer()->add_bos() && a->tokenizer()->bos_id()) ids_a.insert(ids_a.begin(), *a->tokenizer()->bos_id());
    if (b->tokenizer()->add_bos() && b->tokenizer()->bos_id()) ids_b.insert(ids_b.begin(), *b->tokenizer()->bos_id());

    std::string out;   // text report (stderr) or the JSON object (stdout)
    std::string steps_json;
    bool agree = true;
    std::string divergence_text, divergence_json = "null";
    if (!o.json)
        out += fmt::format("[TRACE-DIFF] A: {} ({}, {} layers)\n[TRACE-DIFF] B: {} ({}, {} layers)\n", o.model_a,
                           file_format_name(a->file().format()), a->config().num_layers, o.model_b,
                           file_format_name(b->file().format()), b->config().num_layers);
    if (ids_a != ids_b) {
        agree = false;
        divergence_text = fmt::format("the tokenizers differ: the prompt is {} tokens in A and {} in B", ids_a.size(),
                                      ids_b.size());
        divergence_json = fmt::format("{{\"class\": \"tokenizer\", \"message\": {}}}", json_string(divergence_text));
    } else if (a->config().num_layers != b->config().num_layers || a->config().hidden_size != b->config().hidden_size) {
        agree = false;
        divergence_text = "the architectures differ (layers or hidden size)";
        divergence_json = fmt::format("{{\"class\": \"architecture\", \"message\": {}}}", json_string(divergence_text));
    } else {
        if (!o.json) out += fmt::format("[TRACE-DIFF] prompt: {} tokens, the same ids in both\n", ids_a.size());
        LayerCapture cap_a, cap_b;
        SessionParams sp;
        // Each model's own trained context (the cache is paged: only the
        // positions used cost memory) and its default cache type.
        sp.observer = &cap_a;
        Session sa(*a, sp);
        sp.observer = &cap_b;
        Session sb(*b, sp);
        std::vector<int32_t> input = ids_a;
        double max_diff = 0;
        for (int64_t step = 0; step <= o.steps && agree; ++step) {
            const int64_t pos = sa.position();
            std::span<const float> la = sa.evaluate(input);
            std::vector<float> logits_a(la.begin(), la.end());
            std::span<const float> lb = sb.evaluate(input);
            const int32_t ta = argmax(logits_a), tb = argmax(lb);
            const auto& ra = cap_a.rows();
            const auto& rb = cap_b.rows();
            std::string layers_json;
            int first_bad = -1;
            double first_bad_diff = 0;
            std::string table;
            for (size_t i = 0; i < ra.size() && i < rb.size(); ++i) {
                const double d = rel_diff(ra[i], rb[i]);
                const trace::TensorStats sa_stats = trace::tensor_stats(ra[i].data(), static_cast<int64_t>(ra[i].size()));
                const trace::TensorStats sb_stats = trace::tensor_stats(rb[i].data(), static_cast<int64_t>(rb[i].size()));
                const bool bad = !(d <= o.tolerance) || sa_stats.nan + sa_stats.inf + sb_stats.nan + sb_stats.inf > 0;
                if (bad && first_bad < 0) {
                    first_bad = static_cast<int>(i);
                    first_bad_diff = d;
                }
                if (std::isfinite(d)) max_diff = std::max(max_diff, d);
                layers_json += fmt::format("{}{{\"stage\": {}, \"rel_diff\": {}, \"a\": {}, \"b\": {}}}",
                                           i ? ", " : "", json_string(stage_name(i, ra.size())), json_number(d),
                                           stats_json(sa_stats), stats_json(sb_stats));
                table += fmt::format("[TRACE-DIFF]   {:<11} rel diff {:<10.3g} A {} | B {}{}\n", stage_name(i, ra.size()),
                                     d, stats_text(sa_stats), stats_text(sb_stats), bad ? "  <-- diverges" : "");
            }
            const std::string piece_a = a->tokenizer()->decode(std::span<const int32_t>(&ta, 1));
            const std::string piece_b = b->tokenizer()->decode(std::span<const int32_t>(&tb, 1));
            steps_json += fmt::format("{}{{\"position\": {}, \"token_a\": {}, \"token_b\": {}, \"text_a\": {}, "
                                      "\"text_b\": {}, \"layers\": [{}]}}",
                                      step ? ", " : "", pos + static_cast<int64_t>(input.size()) - 1, ta, tb,
                                      json_string(piece_a), json_string(piece_b), layers_json);
            if (!o.json)
                out += fmt::format("[TRACE-DIFF] step {} pos={}: token A {} {} | B {} {}{}\n", step,
                                   pos + static_cast<int64_t>(input.size()) - 1, ta, json_string(piece_a), tb,
                                   json_string(piece_b), first_bad >= 0 || ta != tb ? "" : "  (agree)");
            if (first_bad >= 0) {
                agree = false;
                const size_t i = static_cast<size_t>(first_bad);
                const trace::TensorStats x = trace::tensor_stats(ra[i].data(), static_cast<int64_t>(ra[i].size()));
                const trace::TensorStats y = trace::tensor_stats(rb[i].data(), static_cast<int64_t>(rb[i].size()));
                std::string cls, which;
                auto passthrough = [&](const std::vector<std::vector<float>>& rows) {
                    return i >= 1 && i + 1 < rows.size() && rel_diff(rows[i], rows[i - 1]) < 1e-6;
                };
                if (!x.finite() || !y.finite()) {
                    cls = "nan";
                    which = !y.finite() ? "B" : "A";
                } else if (x.all_zero() || y.all_zero()) {
                    cls = "zero_tensor";
                    which = y.all_zero() ? "B" : "A";
                } else if (passthrough(rb) != passthrough(ra)) {
                    cls = "weights_not_loaded";
                    which = passthrough(rb) ? "B" : "A";
                } else {
                    cls = "layer_diverges";
                }
                const std::string stage = stage_name(i, ra.size());
                const std::string explain =
                    cls == "nan" ? fmt::format("NaN/Inf in {} of model {}", stage, which)
                    : cls == "zero_tensor" ? fmt::format("{} of model {} is all zeros", stage, which)
                    : cls == "weights_not_loaded"
                        ? fmt::format("{} of model {} passes its input through unchanged: its weights are zero or "
                                      "were not loaded",
                                      stage, which)
                        : fmt::format("{} diverges (relative difference {:.3g} > {:.3g})", stage, first_bad_diff,
                                      o.tolerance);
                divergence_text = fmt::format("first divergence at step {}, position {}, {}: {}\n[TRACE-DIFF]   A: {}\n"
                                              "[TRACE-DIFF]   B: {}",
                                              step, pos + static_cast<int64_t>(input.size()) - 1, stage, explain,
                                              stats_text(x), stats_text(y));
                divergence_json = fmt::format(
                    "{{\"step\": {}, \"position\": {}, \"stage\": {}, \"layer\": {}, \"class\": \"{}\", \"rel_diff\": "
                    "{}, \"message\": {}, \"a\": {}, \"b\": {}}}",
                    step, pos + static_cast<int64_t>(input.size()) - 1, json_string(stage),
                    i >= 1 && i + 1 < ra.size() ? static_cast<int>(i) - 1 : -1, cls, json_number(first_bad_diff),
                    json_string(explain), stats_json(x), stats_json(y));
                if (!o.json) out += table;
            } else if (ta != tb) {
                agree = false;
                const double gap = top2_gap(logits_a);
                divergence_text = fmt::format(
                    "first divergence at step {}: the hidden states agree (max relative difference {:.3g}) but the "
                    "tokens differ: a near-tie flipped (A's top-2 logit gap {:.4g})",
                    step, max_diff, gap);
                divergence_json = fmt::format("{{\"step\": {}, \"class\": \"near_tie\", \"top2_gap\": {}, \"message\": {}}}",
                                              step, json_number(gap), json_string(divergence_text));
            } else if (step == 0 && !o.json) {
                out += table;
            }
            if (!agree || a->end_token_ids().end() !=
                              std::find(a->end_token_ids().begin(), a->end_token_ids().end(), ta))
                break;
            input.assign(1, ta);
            if (sa.position() + 1 > sa.context_length()) break;
        }
        if (agree && !o.json)
            out += fmt::format("[TRACE-DIFF] result: the models agree (max relative difference {:.3g}, tolerance {:.3g})\n",
                               max_diff, o.tolerance);
    }
    if (o.json) {
        fmt::print("{{\"agree\": {}, \"model_a\": {}, \"model_b\": {}, \"tolerance\": {}, \"steps\": [{}], "
                   "\"first_divergence\": {}}}\n",
                   agree ? "true" : "false", json_string(o.model_a), json_string(o.model_b), o.tolerance, steps_json,
                   divergence_json);
    } else {
        if (!agree) out += "[TRACE-DIFF] result: DIVERGE: " + divergence_text + "\n";
        fmt::print(stderr, "{}", out);
    }
    return agree ? 0 : 1;
}

}  // namespace apr::cli
