#include "generation_flags.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "apr/error.hpp"

namespace apr::cli {

void GenerationFlags::add_to(Flags& flags, const std::string& max_tokens_help) {
    flags.add("--system", &system, "a system message before the prompt");
    flags.add("--max-tokens", &max_tokens, max_tokens_help);
    flags.add("--temperature", &temperature, "sample at this temperature (default: greedy)");
    flags.add("--top-k", &top_k, "keep the K most likely tokens when sampling (0 = off)", "K");
    flags.add("--top-p", &top_p, "nucleus sampling mass (1 = off)", "P");
    flags.add("--min-p", &min_p, "drop tokens below P x the best one's probability (0 = off)", "P");
    flags.add("--repeat-penalty", &repeat_penalty, "penalize the last 64 tokens (1 = off)");
    flags.add("--presence-penalty", &presence_penalty, "subtract X from the logit of every recent token");
    flags.add("--frequency-penalty", &frequency_penalty, "subtract X per occurrence of a recent token");
    flags.add("--seed", &seed, "random seed for sampling", "S");
    flags.add("--threads", &threads, "CPU threads (0 = all)");
    add_device_flags(flags, &device);
}

GenerateParams GenerationFlags::generate_params() const {
    GenerateParams gp;
    gp.max_tokens = max_tokens;
    // Greedy (temperature 0) unless a temperature is given; the other sampling
    // values are still checked so a typo such as --top-p 2 is reported.
    gp.sampling.temperature = temperature.value_or(0.0);
    gp.sampling.top_k = top_k;
    gp.sampling.top_p = top_p;
    gp.sampling.min_p = min_p;
    gp.sampling.seed = static_cast<uint64_t>(seed);
    gp.sampling.repeat_penalty = repeat_penalty;
    gp.sampling.presence_penalty = presence_penalty;
    gp.sampling.frequency_penalty = frequency_penalty;
    return gp;
}

void GenerationFlags::validate() const {
    if (max_tokens < 0) throw UsageError("--max-tokens must be >= 0");
    if (threads < 0 || threads > 4096) throw UsageError("--threads must be 0..4096");
    if (seed < 0) throw UsageError("--seed must be >= 0");
    ModelParams checked;
    apply_device_flags(device, checked);
    if (temperature && *temperature < 0) throw UsageError("--temperature must be >= 0");
    try {
        apr::validate(generate_params().sampling);
    } catch (const Error& e) {
        throw UsageError(e.what());
    }
}

ModelParams GenerationFlags::model_params() const {
    ModelParams mp;
    mp.threads = static_cast<int>(threads);
    apply_device_flags(device, mp);
    return mp;
}

namespace {

double to_double(const std::string& name, const std::string& text) {
    double v = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || ptr != text.data() + text.size() || text.empty())
        throw UsageError(fmt::format("{} expects a number, got '{}'", name, text));
    return v;
}

int64_t to_int(const std::string& name, const std::string& text) {
    int64_t v = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || ptr != text.data() + text.size() || text.empty())
        throw UsageError(fmt::format("{} expects an integer, got '{}'", name, text));
    return v;
}

}  // namespace

void set_generation_option(GenerationFlags& flags, const std::string& raw_name, const std::string& value) {
    std::string name = raw_name;
    std::replace(name.begin(), name.end(), '_', '-');
    GenerationFlags next = flags;
    if (name == "temperature") next.temperature = to_double(name, value);
    else if (name == "top-k") next.top_k = to_int(name, value);
    else if (name == "top-p") next.top_p = to_double(name, value);
    else if (name == "min-p") next.min_p = to_double(name, value);
    else if (name == "repeat-penalty") next.repeat_penalty = to_double(name, value);
    else if (name == "presence-penalty") next.presence_penalty = to_double(name, value);
    else if (name == "frequency-penalty") next.frequency_penalty = to_double(name, value);
    else if (name == "seed") next.seed = to_int(name, value);
    else if (name == "max-tokens") next.max_tokens = to_int(name, value);
    else
        throw UsageError(fmt::format("unknown option '{}' (one of temperature, top-k, top-p, min-p, repeat-penalty, "
                                     "presence-penalty, frequency-penalty, seed, max-tokens)",
                                     raw_name));
    next.validate();  // throws before anything changes
    flags = next;
}

std::string describe_generation_options(const GenerationFlags& f) {
    return fmt::format(
        "temperature {} ({}), top-k {}, top-p {}, min-p {}, repeat-penalty {}, presence-penalty {}, "
        "frequency-penalty {}, seed {}, max-tokens {}",
        f.temperature.value_or(0.0), f.temperature.value_or(0.0) > 0 ? "sampling" : "greedy", f.top_k, f.top_p,
        f.min_p, f.repeat_penalty, f.presence_penalty, f.frequency_penalty, f.seed, f.max_tokens);
}

}  // namespace apr::cli
