#include "serve/http_server.hpp"

#include <fmt/core.h>
#include <httplib.h>
#include <pthread.h>
#include <sys/socket.h>
#include <signal.h>

#include <cmath>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "apr/error.hpp"
#include "serve/api.hpp"
#include "serve/web_ui.hpp"

namespace apr::serve {

namespace {

bool is_ollama_path(const std::string& path) { return path.rfind("/api/", 0) == 0; }

void send_error(httplib::Response& res, const ApiError& e, bool ollama) {
    res.status = e.status;
    if (!e.retry_after.empty()) res.set_header("Retry-After", e.retry_after);
    res.set_content(ollama ? ollama_error_body(e) : openai_error_body(e), "application/json");
}

// A fixed set of metric labels (unknown paths count as "other").
std::string endpoint_label(const std::string& path) {
    static const char* known[] = {"/v1/chat/completions", "/v1/completions", "/v1/models", "/api/chat", "/api/generate",
                                  "/api/tags", "/api/ps", "/api/version", "/api/show", "/health", "/metrics",
                                  "/tokenize", "/detokenize"};
    for (const char* k : known)
        if (path == k) return k;
    if (is_web_ui_path(path)) return "/";  // the chat page and its files
    return "other";
}

// Constant-time comparison, so the key cannot be guessed byte by byte from timings.
bool same_secret(const std::string& a, const std::string& b) {
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i % (b.empty() ? 1 : b.size())]);
    return diff == 0 && !b.empty();
}

using Endpoint = void (*)(Service&, const httplib::Request&, httplib::Response&);

}  // namespace

int run_server(const ServeOptions& options) {
    // Signals are taken by one thread with sigwait; every other thread
    // (HTTP workers, the scheduler, compute threads) inherits the mask.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    signal(SIGPIPE, SIG_IGN);

    Service service(options);
    httplib::Server svr;
    const size_t workers = static_cast<size_t>(options.parallel + options.queue + 16);
    svr.new_task_queue = [workers] { return new httplib::ThreadPool(workers); };
    svr.set_payload_max_length(static_cast<size_t>(options.body_limit));
    svr.set_read_timeout(static_cast<time_t>(options.timeout_s));
    svr.set_write_timeout(static_cast<time_t>(options.timeout_s));
    svr.set_keep_alive_timeout(2);
    // httplib listens with a backlog of 5: a burst of clients (64 at once in
    // the load test) overflows it and the kernel resets some of them. The
    // socket is captured here and listen() is called again with room for all.
    int listen_fd = -1;
    svr.set_socket_options([&listen_fd](int fd) {
        const int yes = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
        listen_fd = fd;
    });

    svr.set_pre_routing_handler([&](const httplib::Request& req, httplib::Response& res) {
        request_log() = RequestLog{};
        request_log().start = Clock::now();
        if (!options.cors_origin.empty()) {
            res.set_header("Access-Control-Allow-Origin", options.cors_origin);
            res.set_header("Vary", "Origin");
            if (req.method == "OPTIONS") {
                res.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
                res.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type");
                res.set_header("Access-Control-Max-Age", "600");
                res.status = 204;
                return httplib::Server::HandlerResponse::Handled;
            }
        }
        // The chat page's own files carry no data and a browser cannot send a
        // key when it navigates; the page asks for the key for its API calls.
        if (!options.api_key.empty() && req.path != "/health" && !is_web_ui_path(req.path)) {
            const std::string auth = req.get_header_value("Authorization");
            const std::string prefix = "Bearer ";
            if (auth.rfind(prefix, 0) != 0 || !same_secret(auth.substr(prefix.size()), options.api_key)) {
                ApiError e(401, auth.empty() ? "missing API key: send Authorization: Bearer KEY"
                                             : "invalid API key",
                           "", "invalid_api_key");
                res.set_header("WWW-Authenticate", "Bearer");
                send_error(res, e, is_ollama_path(req.path));
                return httplib::Server::HandlerResponse::Handled;
            }
        }
        return httplib::Server::HandlerResponse::Unhandled;
    });

    // httplib's own refusals (no route, body too large, bad HTTP) get a JSON body too.
    svr.set_error_handler(httplib::Server::HandlerWithResponse([&](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty() || res.is_chunked_content_provider_) return httplib::Server::HandlerResponse::Unhandled;
        std::string msg;
        switch (res.status) {
            case 404: msg = fmt::format("no endpoint {} {}", req.method, req.path); break;
            case 413: msg = fmt::format("the request body is larger than the server's limit of {} bytes", options.body_limit); break;
            case 405: msg = fmt::format("method {} is not allowed on {}", req.method, req.path); break;
            default: msg = fmt::format("bad request ({})", res.status); break;
        }
        const std::string code = res.status == 404 ? "not_found" : res.status == 413 ? "request_too_large" : "bad_request";
        send_error(res, ApiError(res.status, msg, "", code), is_ollama_path(req.path));
        return httplib::Server::HandlerResponse::Handled;
    }));

    svr.set_exception_handler([&](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown error";
        try {
            std::rethrow_exception(ep);
        } catch (const std::exception& e) {
            what = e.what();
        } catch (...) {
        }
        send_error(res, ApiError(500, "internal error: " + what, "", "internal_error"), is_ollama_path(req.path));
    });

    svr.set_logger([&](const httplib::Request& req, const httplib::Response& res) {
        const RequestLog& log = request_log();
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - log.start).count();
        service.metrics().request(endpoint_label(req.path), res.status);
        std::string line;
        if (options.log_format == "json") {
            Json j = Json::object();
            j.set("time", rfc3339_now()).set("method", req.method).set("path", req.path).set("status", res.status);
            j.set("prompt_tokens", log.prompt_tokens).set("completion_tokens", log.completion_tokens);
            j.set("ms", std::round(ms * 1000) / 1000).set("remote", req.remote_addr);
            if (!log.trace_json.empty()) j.set("trace", Json::parse(log.trace_json));
            if (!log.layer_table.empty()) j.set("layer_table", log.layer_table);
            line = j.dump();
        } else {
            line = fmt::format("{} {} {} {} prompt={} completion={} {:.1f}ms", rfc3339_now(), req.method, req.path,
                               res.status, log.prompt_tokens, log.completion_tokens, ms);
        }
        // Trace modes: the timing line and the layer table after the request's line.
        if (options.log_format != "json") {
            if (!log.trace_line.empty()) line += "\n" + log.trace_line;
            if (!log.layer_table.empty()) line += "\n" + log.layer_table;
            while (!line.empty() && line.back() == '\n') line.pop_back();
        }
        fmt::print(stderr, "{}\n", line);
    });

    auto route = [&](bool post, const char* path, Endpoint fn, bool needs_model = true) {
        const bool ollama = is_ollama_path(path);
        auto handler = [&service, fn, ollama, needs_model](const httplib::Request& req, httplib::Response& res) {
            try {
                if (needs_model && !service.ready()) {
                    ApiError e(503, "the model is still loading; retry shortly", "", "model_loading");
                    e.retry_after = "1";
                    throw e;
                }
                fn(service, req, res);
            } catch (const ApiError& e) {
                send_error(res, e, ollama);
            } catch (const apr::Error& e) {
                const int status = e.code() == ErrorCode::invalid_argument || e.code() == ErrorCode::context_overflow ? 400 : 500;
                send_error(res, ApiError(status, e.what(), "", error_code_name(e.code())), ollama);
            } catch (const std::exception& e) {
                send_error(res, ApiError(500, std::string("internal error: ") + e.what(), "", "internal_error"), ollama);
            }
        };
        if (post) svr.Post(path, handler);
        else svr.Get(path, handler);
    };
    route(true, "/v1/chat/completions", openai_chat_completions);
    route(true, "/v1/completions", openai_completions);
    route(false, "/v1/models", openai_models);
    route(true, "/api/chat", ollama_chat);
    route(true, "/api/generate", ollama_generate);
    route(true, "/api/show", ollama_show);
    route(false, "/api/tags", ollama_tags);
    route(false, "/api/ps", ollama_ps);
    route(false, "/api/version", ollama_version, false);
    route(true, "/tokenize", tokenize_endpoint);
    route(true, "/detokenize", detokenize_endpoint);
    add_web_ui_routes(svr);

    svr.Get("/health", [&](const httplib::Request&, httplib::Response& res) {
        Json out = Json::object();
        if (!service.ready()) {
            res.status = 503;
            res.set_header("Retry-After", "1");
            out.set("status", "loading").set("model", options.alias);
        } else {
            out.set("status", "ok").set("model", options.alias);
            out.set("compute_mode", service.model().device() == Device::cpu ? "cpu" : "gpu");
            out.set("slots", service.scheduler().slots()).set("busy_slots", service.scheduler().busy_slots());
        }
        res.set_content(out.dump(), "application/json");
    });
    svr.Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
        const bool ready = service.ready();
        res.set_content(service.metrics().render(ready ? service.scheduler().queue_depth() : 0,
                                                 ready ? service.scheduler().busy_slots() : 0,
                                                 ready ? service.scheduler().slots() : 0,
                                                 ready ? service.scheduler().kv_cache_bytes() : 0,
                                                 ready ? service.scheduler().kv_cache_positions() : 0),
                        "text/plain; version=0.0.4");
    });

    int port = static_cast<int>(options.port);
    if (port == 0) {
        port = svr.bind_to_any_port(options.host);
        if (port <= 0) {
            fmt::print(stderr, "apr serve: error: cannot bind {} to a free port\n", options.host);
            return 1;
        }
    } else if (!svr.bind_to_port(options.host, port)) {
        fmt::print(stderr, "apr serve: error: cannot bind {}:{} (in use, or not an address of this machine)\n",
                   options.host, port);
        return 1;
    }
    if (listen_fd >= 0) ::listen(listen_fd, 1024);
    fmt::print(stderr, "apr serve: listening on http://{}:{} (loading {})\n", options.host, port, options.model_path);
    std::thread listener([&] { svr.listen_after_bind(); });

    std::mutex mutex;
    std::condition_variable cv;
    bool stop = false;
    std::thread signal_thread([&] {
        int sig = 0;
        sigwait(&signals, &sig);
        std::lock_guard lock(mutex);
        stop = true;
        cv.notify_all();
    });

    int code = 0;
    try {
        service.load();
        fmt::print(stderr,
                   "apr serve: serving '{}' with {} slot(s) of {} tokens ({} KV cache, taken in blocks as they fill) "
                   "on http://{}:{}\n",
                   options.alias, options.parallel, service.scheduler().context_length(),
                   kv_cache_type_name(service.scheduler().kv_cache_type()), options.host, port);
    } catch (const std::exception& e) {
        fmt::print(stderr, "apr serve: error: {}\n", e.what());
        code = 1;
        std::lock_guard lock(mutex);
        stop = true;
    }
    {
        std::unique_lock lock(mutex);
        cv.wait(lock, [&] { return stop; });
    }
    fmt::print(stderr, "apr serve: stopping\n");
    // Let running answers finish for a moment, then cancel the rest; streams end at once.
    service.shutdown(std::chrono::milliseconds(1000));
    svr.stop();
    listener.join();
    if (code != 0) pthread_kill(signal_thread.native_handle(), SIGTERM);
    signal_thread.join();
    fmt::print(stderr, "apr serve: stopped\n");
    return code;
}

}  // namespace apr::serve
