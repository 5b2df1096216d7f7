#include "qa_parity.hpp"

#include <fmt/format.h>
#include <httplib.h>
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <span>

#include "apr/chat_template.hpp"
#include "apr/device.hpp"
#include "apr/generate.hpp"
#include "apr/model.hpp"
#include "apr/session.hpp"
#include "json_text.hpp"
#include "qa_cases.hpp"
#include "qa_process.hpp"

namespace apr::qa {
namespace {

using cli::json_string;

std::filesystem::path find_tool(const char* env, const char* name) {
    if (const char* v = std::getenv(env); v && *v && std::filesystem::exists(v)) return v;
    return find_on_path(name);
}

// The side both engines run on: the GPU with `--backend cuda` (libapr on
// CUDA, llama.cpp with every layer offloaded), else the CPU for both
// (llama.cpp with -ngl 0, so a CUDA build of it does not use the GPU).
bool on_gpu(const QaOptions& o) { return o.backends.count("cpu") == 0; }
std::string ngl(const QaOptions& o) { return on_gpu(o) ? "99" : "0"; }
Device device(const QaOptions& o) { return on_gpu(o) ? Device::cuda : Device::cpu; }

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

struct Ours {
    std::vector<std::string> prompts, texts;
    double prompt_tok_s = 0, gen_tok_s = 0;
};

// libapr's greedy answers to the cases, in-process on the CPU.
Ours our_answers(const QaOptions& o, const std::string& gguf, CaseSet& set) {
    ModelParams mp;
    mp.threads = static_cast<int>(o.threads);
    mp.device = device(o);
    auto model = Model::load(gguf, mp);
    set = cases_for(model->config());
    const ChatTemplate tmpl = ChatTemplate::from_model_file(model->file());
    Session session(*model);
    Ours ours;
    int64_t pt = 0, gt = 0;
    double pms = 0, gms = 0;
    for (const ChatCase& c : set.cases) {
        session.reset();
        GenerateParams gp;
        gp.max_tokens = o.max_tokens;
        const std::string prompt = tmpl.render(c.messages, true);
        const GenerateResult r = generate(session, prompt, gp);
        ours.prompts.push_back(prompt);
        ours.texts.push_back(r.text);
        pt += r.prompt_tokens;
        gt += r.completion_tokens;
        pms += r.prompt_ms;
        gms += r.generation_ms;
    }
    ours.prompt_tok_s = pms > 0 ? pt * 1000.0 / pms : 0;
    ours.gen_tok_s = gms > 0 ? gt * 1000.0 / gms : 0;
    return ours;
}

std::string shown(const std::string& text) {
    std::string out;
    for (char c : text) out += c == '\n' ? std::string("\\n") : std::string(1, c);
    return out.size() > 50 ? out.substr(0, 47) + "..." : out;
}

// One pp/tg measurement of libapr, as `apr bench` and llama-bench do it:
// `pp` random prompt tokens in one call, then `tg` single greedy steps.
std::pair<double, double> our_bench(Session& session, int64_t vocab, int64_t pp, int64_t tg, uint64_t& state) {
    auto take = [&](int64_t n) {
        std::vector<int32_t> ids(static_cast<size_t>(n));
        for (auto& id : ids) {
            state = state * 6364136223846793005ULL + 1442695040888963407ULL;
            id = static_cast<int32_t>((state >> 33) % static_cast<uint64_t>(vocab));
        }
        return ids;
    };
    session.reset();
    const auto prompt = take(pp);
    auto start = std::chrono::steady_clock::now();
    session.evaluate(prompt);
    const double pp_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    session.reset();
    const auto steps = take(tg);
    start = std::chrono::steady_clock::now();
    for (int32_t id : steps) session.evaluate_greedy(std::span<const int32_t>(&id, 1));
    const double tg_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return {pp / pp_s, tg / tg_s};
}

// llama-bench's pp and tg tok/s (its JSON output), or an error.
bool llama_bench(const std::filesystem::path& bench, const QaOptions& o, const std::string& gguf, int64_t pp, int64_t tg,
                 const std::filesystem::path& work, double& pp_ts, double& tg_ts, std::string& error) {
    std::vector<std::string> argv{bench.string(), "-m", gguf, "-p", std::to_string(pp), "-n", std::to_string(tg), "-r", "1",
                                  "-o", "json", "-ngl", ngl(o)};
    if (o.threads > 0) argv.insert(argv.end(), {"-t", std::to_string(o.threads)});
    const ProcessResult r = run_process(argv, "", {}, work, std::chrono::seconds(600));
    if (r.exit_code != 0) {
        error = "llama-bench: " + r.describe();
        return false;
    }
    try {
        simdjson::dom::parser parser;
        simdjson::dom::element d = parser.parse(simdjson::padded_string(r.out));
        for (simdjson::dom::element e : simdjson::dom::array(d)) {
            const int64_t n_prompt = e["n_prompt"], n_gen = e["n_gen"];
            const double ts = e["avg_ts"];
            if (n_prompt > 0 && n_gen == 0) pp_ts = ts;
            if (n_gen > 0 && n_prompt == 0) tg_ts = ts;
        }
    } catch (const simdjson::simdjson_error& e) {
        error = std::string("llama-bench's JSON: ") + e.what();
        return false;
    }
    if (pp_ts <= 0 || tg_ts <= 0) {
        error = "llama-bench reported no pp/tg figures";
        return false;
    }
    return true;
}

void parity_llama_cpp(const QaOptions& o, const Sources& s, const std::filesystem::path& work, Results& results,
                      const std::filesystem::path& simple, const std::filesystem::path& bench) {
    CaseSet set;
    const Ours ours = our_answers(o, s.gguf, set);
    ParityLine correct{"correctness", Status::skip, "llama-simple not found ($APR_LLAMA_SIMPLE or PATH)"};
    ParityLine memory{"memory", Status::skip, "llama-simple not found ($APR_LLAMA_SIMPLE or PATH)"};
    if (!simple.empty()) {
        int same = 0;
        std::string first_diff;
        double their_rss = 0;
        for (size_t i = 0; i < ours.prompts.size(); ++i) {
            const ProcessResult r = run_process({simple.string(), "-m", s.gguf, "-ngl", ngl(o), "-n", std::to_string(o.max_tokens),
                                                 ours.prompts[i]},
                                                "", {}, work, std::chrono::seconds(300));
            if (i == 0) their_rss = r.peak_rss_mb;
            const bool echoed = r.out.compare(0, ours.prompts[i].size(), ours.prompts[i]) == 0;
            const std::string theirs = echoed ? r.out.substr(ours.prompts[i].size()) : r.out;
            // llama-simple ends its output with a newline of its own.
            const bool ok = r.exit_code == 0 && normalized(theirs) == normalized(ours.texts[i]);
            if (ok) ++same;
            else if (first_diff.empty())
                first_diff = r.exit_code != 0 ? "llama-simple " + r.describe()
                                              : fmt::format("case {}: libapr \"{}\", llama.cpp \"{}\"", i, shown(ours.texts[i]), shown(theirs));
        }
        const int n = static_cast<int>(ours.prompts.size());
        correct.status = same == n ? Status::pass : Status::fail;
        correct.reason = fmt::format("{}/{} cases give the same greedy text ({}, -n {}){}", same, n, set.name, o.max_tokens,
                                     first_diff.empty() ? "" : "; " + first_diff);
        // Peak RSS: the first case's prompt through `apr run` and through llama-simple.
        const ProcessResult mine = run_process({o.apr_cli.string(), "run", s.gguf, "--prompt",
                                                set.cases[0].messages.back().content, "--max-tokens",
                                                std::to_string(o.max_tokens), "--threads", std::to_string(o.threads),
                                                "--device", on_gpu(o) ? "cuda" : "cpu"},
                                               "", {}, work, std::chrono::seconds(300));
        if (mine.exit_code != 0 || their_rss <= 0) {
            memory.status = Status::fail;
            memory.reason = "could not measure: apr run " + mine.describe();
        } else {
            const double ratio = mine.peak_rss_mb / their_rss;
            memory.status = ratio <= 1.5 ? Status::pass : Status::fail;
            memory.reason = fmt::format("peak RSS apr run {:.1f} MB, llama-simple {:.1f} MB: ratio {:.2f} (pass <= 1.5)",
                                        mine.peak_rss_mb, their_rss, ratio);
        }
    }
    ParityLine perf{"performance", Status::skip, "llama-bench not found ($APR_LLAMA_BENCH or PATH)"};
    if (!bench.empty()) {
        const int64_t pp = 128, tg = 32;
        ModelParams mp;
        mp.threads = static_cast<int>(o.threads);
        mp.device = device(o);
        auto model = Model::load(s.gguf, mp);
        Session session(*model);
        uint64_t state = 0x5eed;
        std::vector<double> our_pp, our_tg, their_pp, their_tg;
        std::string error;
        our_bench(session, model->config().vocab_size, pp, tg, state);  // warm-up (page in the weights)
        for (int64_t rep = 0; rep < o.parity_reps && error.empty(); ++rep) {
            double a = 0, b = 0;
            // Alternate which side goes first, so drift on a shared machine hits both.
            if (rep % 2 == 1 && llama_bench(bench, o, s.gguf, pp, tg, work, a, b, error)) their_pp.push_back(a), their_tg.push_back(b);
            const auto [x, y] = our_bench(session, model->config().vocab_size, pp, tg, state);
            our_pp.push_back(x);
            our_tg.push_back(y);
            if (rep % 2 == 0 && error.empty() && llama_bench(bench, o, s.gguf, pp, tg, work, a, b, error))
                their_pp.push_back(a), their_tg.push_back(b);
        }
        if (!error.empty() || their_pp.empty()) {
            perf.status = Status::fail;
            perf.reason = error.empty() ? "no llama-bench figures" : error;
        } else {
            const double rp = median(our_pp) / median(their_pp), rt = median(our_tg) / median(their_tg);
            perf.status = rp >= 0.5 && rt >= 0.5 ? Status::pass : Status::fail;
            perf.reason = fmt::format(
                "pp{} {:.1f} vs {:.1f} tok/s (ratio {:.2f}), tg{} {:.1f} vs {:.1f} tok/s (ratio {:.2f}); libapr vs "
                "llama-bench -p {} -n {} -r 1 -ngl {}, medians of {} interleaved runs, {} threads (pass >= 0.5)",
                pp, median(our_pp), median(their_pp), rp, tg, median(our_tg), median(their_tg), rt, pp, tg, ngl(o), our_pp.size(),
                model->threads());
        }
    }
    results.parity = {correct, perf, memory};
}

// Ollama's HTTP API: /api/generate with the rendered prompt (raw) and greedy options.
void parity_ollama(const QaOptions& o, const Sources& s, const std::filesystem::path& work, Results& results,
                   const std::string& host, int port, const std::string& model_name) {
    CaseSet set;
    const Ours ours = our_answers(o, s.gguf, set);
    httplib::Client client(host, port);
    client.set_read_timeout(600, 0);
    int same = 0;
    std::string first_diff;
    double eval_tokens = 0, eval_s = 0, prompt_tokens = 0, prompt_s = 0;
    for (size_t i = 0; i < ours.prompts.size(); ++i) {
        const std::string body = fmt::format(
            R"({{"model": {}, "prompt": {}, "raw": true, "stream": false, "options": {{"temperature": 0, "top_k": 1, "seed": 0, "num_predict": {}}}}})",
            json_string(model_name), json_string(ours.prompts[i]), o.max_tokens);
        auto r = client.Post("/api/generate", body, "application/json");
        if (!r || r->status != 200) {
            results.parity = {{"correctness", Status::fail,
                               r ? fmt::format("ollama answered {}: {}", r->status, r->body.substr(0, 200))
                                 : "no answer from the ollama server"}};
            return;
        }
        try {
            simdjson::dom::parser parser;
            simdjson::dom::element d = parser.parse(simdjson::padded_string(r->body));
            const std::string theirs{std::string_view(d["response"])};
            if (normalized(theirs) == normalized(ours.texts[i])) ++same;
            else if (first_diff.empty())
                first_diff = fmt::format("case {}: libapr \"{}\", ollama \"{}\"", i, shown(ours.texts[i]), shown(theirs));
            eval_tokens += double(int64_t(d["eval_count"]));
            eval_s += double(int64_t(d["eval_duration"])) / 1e9;
            prompt_tokens += double(int64_t(d["prompt_eval_count"]));
            prompt_s += double(int64_t(d["prompt_eval_duration"])) / 1e9;
        } catch (const simdjson::simdjson_error& e) {
            results.parity = {{"correctness", Status::fail, std::string("ollama's answer: ") + e.what()}};
            return;
        }
    }
    (void)work;
    const int n = static_cast<int>(ours.prompts.size());
    ParityLine correct{"correctness", same == n ? Status::pass : Status::fail,
                       fmt::format("{}/{} cases give the same greedy text{}", same, n, first_diff.empty() ? "" : "; " + first_diff)};
    ParityLine perf{"performance", Status::fail, "ollama reported no timings"};
    if (eval_s > 0 && prompt_s > 0 && ours.gen_tok_s > 0) {
        const double theirs_tg = eval_tokens / eval_s, theirs_pp = prompt_tokens / prompt_s;
        const double rt = ours.gen_tok_s / theirs_tg, rp = ours.prompt_tok_s / theirs_pp;
        perf.status = rt >= 0.5 && rp >= 0.5 ? Status::pass : Status::fail;
        perf.reason = fmt::format("prompt {:.1f} vs {:.1f} tok/s (ratio {:.2f}), generation {:.1f} vs {:.1f} tok/s (ratio "
                                  "{:.2f}) over the cases (pass >= 0.5)",
                                  ours.prompt_tok_s, theirs_pp, rp, ours.gen_tok_s, theirs_tg, rt);
    }
    ParityLine memory{"memory", Status::skip,
                      "the model runs inside the Ollama server's runner process, which this run does not start or measure"};
    results.parity = {correct, perf, memory};
}

}  // namespace

void run_parity(const QaOptions& o, const Sources& s, const std::filesystem::path& work, Results& results) {
    std::string why;
    if (on_gpu(o) && device_status(Device::cuda, &why) != DeviceStatus::ready) {
        results.parity_engine = "the GPU (--backend cuda)";
        results.parity = {{"correctness", Status::skip, "no GPU: " + why}, {"performance", Status::skip, "no GPU: " + why},
                          {"memory", Status::skip, "no GPU: " + why}};
        return;
    }
    const std::filesystem::path simple = find_tool("APR_LLAMA_SIMPLE", "llama-simple");
    const std::filesystem::path bench = find_tool("APR_LLAMA_BENCH", "llama-bench");
    std::fprintf(stderr, "qa: parity: llama-simple %s, llama-bench %s\n", simple.empty() ? "not found" : simple.c_str(),
                 bench.empty() ? "not found" : bench.c_str());
    if (!simple.empty() || !bench.empty()) {
        results.parity_engine = fmt::format("llama.cpp ({}{}{}), both on the {}", simple.empty() ? "" : simple.string(),
                                            !simple.empty() && !bench.empty() ? ", " : "", bench.string(),
                                            on_gpu(o) ? "GPU (-ngl 99)" : "CPU (-ngl 0)");
        parity_llama_cpp(o, s, work, results, simple, bench);
        return;
    }
    // Ollama: a running server ($OLLAMA_HOST, default 127.0.0.1:11434) and a model name for the canonical
    // GGUF ($APR_OLLAMA_MODEL, e.g. the tag the user pulled for it).
    std::string host = "127.0.0.1";
    int port = 11434;
    if (const char* env = std::getenv("OLLAMA_HOST"); env && *env) {
        std::string h = env;
        if (h.rfind("http://", 0) == 0) h = h.substr(7);
        if (const size_t colon = h.rfind(':'); colon != std::string::npos) {
            port = std::atoi(h.c_str() + colon + 1);
            h = h.substr(0, colon);
        }
        if (!h.empty()) host = h;
    }
    httplib::Client probe(host, port);
    probe.set_connection_timeout(1, 0);
    auto version = probe.Get("/api/version");
    const std::filesystem::path ollama = find_on_path("ollama");
    const char* model_env = std::getenv("APR_OLLAMA_MODEL");
    if (version && version->status == 200 && model_env && *model_env) {
        results.parity_engine = fmt::format("Ollama at {}:{}, model {}", host, port, model_env);
        parity_ollama(o, s, work, results, host, port, model_env);
        return;
    }
    const std::string looked = fmt::format(
        "looked for llama.cpp's llama-simple and llama-bench ($APR_LLAMA_SIMPLE, $APR_LLAMA_BENCH, PATH) and for an "
        "Ollama server at {}:{} ({}) with $APR_OLLAMA_MODEL naming the canonical model ({}); `ollama` on PATH: {}",
        host, port, version && version->status == 200 ? "answering" : "not answering", model_env ? model_env : "unset",
        ollama.empty() ? "no" : ollama.string());
    results.parity_engine = "nothing found";
    results.parity = {{"correctness", Status::skip, looked}, {"performance", Status::skip, looked},
                      {"memory", Status::skip, looked}};
}

}  // namespace apr::qa
