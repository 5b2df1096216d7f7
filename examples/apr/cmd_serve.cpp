// apr serve [MODEL] [...]: an OpenAI- and Ollama-compatible HTTP server with
// continuous batching over --parallel slots (examples/apr/serve/, docs/serve.md).
// This file only parses and checks the flags.
#include <fmt/core.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include "apr/error.hpp"
#include "apr/sampling.hpp"
#include "commands.hpp"
#include "device_flags.hpp"
#include "flags.hpp"
#include "session_flags.hpp"
#include "serve/http_server.hpp"
#include "trace_flags.hpp"

namespace apr::cli {

int cmd_serve(const Args& args) {
    Flags flags("apr serve", "[MODEL] [--host 127.0.0.1] [--port 8080] [--parallel N] [--alias NAME] [--api-key KEY]",
                "Serve a model over HTTP: the OpenAI API (/v1/chat/completions, /v1/completions, /v1/models), the\n"
                "Ollama API (/api/chat, /api/generate, /api/tags, ...), /health, /metrics, /tokenize, /detokenize.\n"
                "Requests share the model through --parallel slots batched together. See docs/serve.md.");
    serve::ServeOptions o;
    std::optional<std::string> alias, api_key, cors;
    int64_t port = 8080, parallel = 4, queue = 64, batch = 256, threads = 0, body_limit = 8 << 20,
            timeout = 30, seed = -1, max_tokens = -1, top_k = 40;
    SessionFlags session_flags;
    double temperature = 0.8, top_p = 0.95, min_p = 0.05, repeat_penalty = 1.0;
    std::string host = "127.0.0.1", log_format = "text";
    flags.add("--host", &host, "address to listen on (0.0.0.0 for every interface)", "ADDR");
    flags.add("--port", &port, "TCP port (0 = any free port, printed at start)", "PORT");
    flags.add("--parallel", &parallel, "slots: sequences generated together in one batch");
    flags.add("--queue", &queue, "requests that may wait for a slot; beyond, 503 + Retry-After");
    flags.add("--alias", &alias, "model name clients use (default: the file or folder name without extension)", "NAME");
    flags.add("--api-key", &api_key, "require Authorization: Bearer KEY on every endpoint but /health (or APR_API_KEY)", "KEY");
    flags.add("--cors", &cors, "allow browser requests from this origin (e.g. http://localhost:3000 or *)", "ORIGIN");
    session_flags.add_to(flags, "per slot");
    flags.add("--batch", &batch, "most tokens in one forward pass (decode rows + prompt chunks)");
    flags.add("--threads", &threads, "CPU threads (0 = all)");
    DeviceFlags device;
    add_device_flags(flags, &device);
    flags.add("--temperature", &temperature, "default sampling temperature of requests that set none (0 = greedy)");
    flags.add("--top-k", &top_k, "default top-k (0 = off)", "K");
    flags.add("--top-p", &top_p, "default nucleus mass (1 = off)", "P");
    flags.add("--min-p", &min_p, "default min-p (0 = off)", "P");
    flags.add("--repeat-penalty", &repeat_penalty, "default repeat penalty (1 = off)");
    flags.add("--seed", &seed, "default seed (-1 = a fresh one per request)", "S");
    flags.add("--max-tokens", &max_tokens, "default most tokens per answer (-1 = until the context is full)");
    flags.add("--body-limit", &body_limit, "largest request body in bytes (413 beyond)", "BYTES");
    flags.add("--timeout", &timeout, "seconds a client may take to send a request or read a response", "S");
    flags.add("--log-format", &log_format, "one line per request: text or json", "FORMAT");
    TraceFlags trace;
    trace.add_serve_modes_to(flags);
    const std::vector<std::string> positional = flags.parse(args);
    trace.validate();
    if (positional.size() > 1) throw UsageError("expected at most one MODEL");
    if (port < 0 || port > 65535) throw UsageError("--port must be 0..65535");
    if (parallel < 1 || parallel > 256) throw UsageError("--parallel must be 1..256");
    if (queue < 0 || queue > 100000) throw UsageError("--queue must be 0..100000");
    if (batch < 1 || batch > 65536) throw UsageError("--batch must be 1..65536");
    if (threads < 0 || threads > 4096) throw UsageError("--threads must be 0..4096");
    session_flags.validate();
    if (body_limit < 1024) throw UsageError("--body-limit must be >= 1024");
    if (timeout < 1 || timeout > 3600) throw UsageError("--timeout must be 1..3600");
    if (seed < -1) throw UsageError("--seed must be >= -1");
    if (max_tokens < -1) throw UsageError("--max-tokens must be >= -1");
    if (log_format != "text" && log_format != "json") throw UsageError("--log-format must be text or json");

    o.model_path = positional.empty() ? default_model_path() : positional[0];
    const bool hub_uri = o.model_path.rfind("hf://", 0) == 0;  // downloaded (or taken from the cache) by Model::load
    if (!hub_uri && !std::filesystem::exists(o.model_path)) throw UsageError("no such model: " + o.model_path);
    if (alias) o.alias = *alias;
    else {
        std::filesystem::path p(o.model_path);
        if (p.filename().empty()) p = p.parent_path();  // a folder given with a trailing slash
        o.alias = std::filesystem::is_directory(p) ? p.filename().string() : p.stem().string();
    }
    if (o.alias.empty()) throw UsageError("--alias must not be empty");
    if (api_key) o.api_key = *api_key;
    else if (const char* env = std::getenv("APR_API_KEY"); env != nullptr) o.api_key = env;
    if (api_key && api_key->empty()) throw UsageError("--api-key must not be empty");
    if (cors) o.cors_origin = *cors;
    o.host = host;
    o.port = port;
    o.parallel = parallel;
    o.queue = queue;
    o.batch_tokens = batch;
    o.threads = threads;
    ModelParams mp;
    apply_device_flags(device, mp);
    o.device = mp.device;
    o.gpu_layers = mp.gpu_layers;
    o.body_limit = body_limit;
    o.timeout_s = timeout;
    o.log_format = log_format;
    o.trace = trace.trace;
    o.trace_layer = trace.level.has_value();
    o.profile = trace.profile;
    o.session = session_flags.params();
    o.seed = seed;
    o.max_tokens = max_tokens;
    o.sampling.temperature = temperature;
    o.sampling.top_k = top_k;
    o.sampling.top_p = top_p;
    o.sampling.min_p = min_p;
    o.sampling.repeat_penalty = repeat_penalty;
    try {
        validate(o.sampling);
    } catch (const Error& e) {
        throw UsageError(e.what());
    }
    return serve::run_server(o);
}

}  // namespace apr::cli
