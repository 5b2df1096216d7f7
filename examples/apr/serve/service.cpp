#include "serve/service.hpp"

#include <fmt/chrono.h>
#include <fmt/core.h>

#include <random>

#include "apr/device.hpp"
#include "apr/error.hpp"

namespace apr::serve {

Service::Service(ServeOptions options) : options_(std::move(options)), seed_counter_(std::random_device{}()) {}

Service::~Service() { shutdown(std::chrono::milliseconds(0)); }

void Service::load() {
    const auto start = Clock::now();
    ModelParams mp;
    mp.threads = static_cast<int>(options_.threads);
    mp.device = options_.device;
    mp.gpu_layers = options_.gpu_layers;
    model_ = Model::load(options_.model_path, mp);
    if (model_->tokenizer() == nullptr) throw Error(ErrorCode::unsupported, options_.model_path + ": the model has no tokenizer");
    template_.emplace(ChatTemplate::from_model_file(model_->file()));
    if (!template_->warning().empty()) fmt::print(stderr, "apr serve: {}\n", template_->warning());
    SchedulerParams sp;
    sp.slots = options_.parallel;
    sp.queue_size = options_.queue;
    sp.batch_tokens = options_.batch_tokens;
    sp.session = options_.session;
    scheduler_ = std::make_unique<Scheduler>(*model_, sp, &metrics_);
    load_ms_ = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    ready_.store(true);
}

const trace::MachinePeaks& Service::peaks() {
    std::call_once(peaks_once_, [this] { peaks_ = device_peaks(*model_, trace::default_peaks_cache()); });
    return peaks_;
}

void Service::shutdown(std::chrono::milliseconds grace) {
    if (scheduler_) scheduler_->shutdown(grace);
}

void Service::check_model(const std::optional<std::string>& name, bool ollama) const {
    if (!name || name->empty() || *name == options_.alias) return;
    if (ollama && *name == options_.alias + ":latest") return;
    throw ApiError(404, fmt::format("model '{}' not found; this server serves '{}'", *name, options_.alias), "model",
                   "model_not_found");
}

uint64_t Service::fresh_seed() { return seed_counter_.fetch_add(0x9e3779b97f4a7c15ull); }

SamplingParams Service::default_sampling() const {
    SamplingParams p = options_.sampling;
    p.seed = options_.seed >= 0 ? static_cast<uint64_t>(options_.seed) : const_cast<Service*>(this)->fresh_seed();
    return p;
}

std::vector<int32_t> Service::prompt_tokens(const std::string& text, int64_t limit) const {
    std::vector<int32_t> ids;
    const Tokenizer& tok = tokenizer();
    if (tok.add_bos() && tok.bos_id()) ids.push_back(*tok.bos_id());
    const std::vector<int32_t> body = tok.encode(text, /*parse_special=*/true);
    ids.insert(ids.end(), body.begin(), body.end());
    check_prompt(ids, limit);
    return ids;
}

void Service::check_prompt(const std::vector<int32_t>& prompt, int64_t limit) const {
    const int64_t ctx = limit > 0 ? std::min(limit, scheduler_->context_length()) : scheduler_->context_length();
    if (prompt.empty()) throw ApiError(400, "the prompt is empty", "prompt", "invalid_value");
    if (static_cast<int64_t>(prompt.size()) >= ctx)
        throw ApiError(400,
                       fmt::format("the prompt has {} tokens, more than the context of {} leaves room for (start the "
                                   "server with a larger --ctx-size or send less)",
                                   prompt.size(), ctx),
                       "messages", "context_length_exceeded");
}

int64_t Service::max_tokens_for(std::optional<int64_t> requested, size_t prompt_size, int64_t limit) const {
    const int64_t ctx = limit > 0 ? std::min(limit, scheduler_->context_length()) : scheduler_->context_length();
    const int64_t room = ctx - static_cast<int64_t>(prompt_size);
    int64_t n = requested ? *requested : options_.max_tokens >= 0 ? options_.max_tokens : room;
    return std::min(n, room);
}

std::vector<std::shared_ptr<Sequence>> Service::submit(const GenRequest& request, int64_t n) {
    std::vector<std::shared_ptr<Sequence>> seqs;
    for (int64_t i = 0; i < n; ++i) {
        GenRequest r = request;
        r.sampling.seed = request.sampling.seed + static_cast<uint64_t>(i);
        auto seq = scheduler_->submit(std::move(r));
        if (!seq) {
            for (auto& s : seqs) s->cancel();
            ApiError e(503, "the server is busy: every slot and the whole queue are taken; retry shortly", "",
                       "server_busy");
            e.retry_after = "1";
            throw e;
        }
        seqs.push_back(std::move(seq));
    }
    return seqs;
}

std::vector<ChoiceResult> Service::collect(const std::vector<std::shared_ptr<Sequence>>& seqs) {
    std::vector<ChoiceResult> out(seqs.size());
    std::string error;
    // Nothing is written before the end, so token events need not wake this
    // thread; pump's waits time out (200 ms, 2 ms with several) and drain
    // whatever has queued meanwhile.
    for (const auto& s : seqs) s->wake_on_final_only();
    pump(seqs, [&](size_t i, const GenEvent& ev) {
        ChoiceResult& c = out[i];
        if (ev.final) {
            c.finish = ev.finish;
            if (!ev.error.empty()) error = ev.error;
            return true;
        }
        c.text += ev.text;
        c.tokens.push_back(ev.id);
        if (ev.logprobs) c.logprobs.push_back(*ev.logprobs);
        return true;
    });
    if (!error.empty()) throw ApiError(500, "generation failed: " + error, "", "internal_error");
    return out;
}

bool Service::pump(const std::vector<std::shared_ptr<Sequence>>& seqs,
                   const std::function<bool(size_t, const GenEvent&)>& on_event) {
    std::vector<bool> done(seqs.size(), false);
    size_t left = seqs.size();
    GenEvent ev;
    while (left > 0) {
        bool any = false;
        for (size_t i = 0; i < seqs.size(); ++i) {
            if (done[i]) continue;
            // One sequence waits longer; several are polled in turn.
            const auto wait = std::chrono::milliseconds(seqs.size() == 1 ? 200 : 2);
            while (seqs[i]->next(ev, any ? std::chrono::milliseconds(0) : wait)) {
                any = true;
                if (ev.final) {
                    done[i] = true;
                    --left;
                }
                if (!on_event(i, ev)) {
                    for (auto& s : seqs) s->cancel();
                    return false;
                }
                if (ev.final) break;
            }
        }
    }
    return true;
}

std::string Service::token_bytes(int32_t id) const {
    const int32_t ids[1] = {id};
    return tokenizer().decode_bytes(ids);
}

RequestLog& request_log() {
    thread_local RequestLog log;
    return log;
}

int64_t unix_time() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string rfc3339_now() {
    const auto now = std::chrono::system_clock::now();
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count() % 1000000000;
    return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:09d}Z", fmt::gmtime(std::chrono::system_clock::to_time_t(now)), ns);
}

std::string random_id(const std::string& prefix) {
    thread_local std::mt19937_64 rng(std::random_device{}());
    return fmt::format("{}{:016x}{:08x}", prefix, rng(), static_cast<uint32_t>(rng()));
}

}  // namespace apr::serve
