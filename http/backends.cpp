#include "http/backends.h"

#include <algorithm>
#include <climits>
#include <stdexcept>
#include <string_view>
#include <utility>

#include <spdlog/spdlog.h>

#include "http/prometheus.h"
#include "router/realm.h"
#include "router/session.h"

namespace kreuz::http {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr std::array<std::string_view, 7> outcome_names = {"result",      "error",           "http_status", "timeout",
                                                           "unreachable", "invalid_response", "overloaded"};

struct BackendError {
    std::string uri = error_uri::backend;
    std::string description = "backend error";
    std::optional<json> details;
};

// An answer that is an object with the single key "error" holding an object
// is the backend's way of raising a CALLERROR; anything else is a result.
std::optional<BackendError> error_of(const json& body) {
    if (!body.is_object() || body.size() != 1) return std::nullopt;
    const auto it = body.find("error");
    if (it == body.end() || !it->is_object()) return std::nullopt;
    BackendError error;
    if (const auto uri = it->find("uri"); uri != it->end() && uri->is_string() && !uri->empty()) {
        error.uri = uri->get<std::string>();
    }
    if (const auto desc = it->find("desc"); desc != it->end() && desc->is_string()) {
        error.description = desc->get<std::string>();
    }
    // WAMP v1 forbids a null errorDetails; null means none.
    if (const auto details = it->find("details"); details != it->end() && !details->is_null()) {
        error.details = *details;
    }
    return error;
}

void close_and_delete(uv_timer_t* timer) {
    uv_close(reinterpret_cast<uv_handle_t*>(timer),
             [](uv_handle_t* closed) { delete reinterpret_cast<uv_timer_t*>(closed); });
}

}  // namespace

struct HttpBackends::Endpoint {
    Realm* realm;
    config::BackendConfig config;
    std::string labels;  // realm="...",procedure="..." for the metrics
    // Shared with the requests in flight: curl reads the list for as long as a
    // transfer runs, and a reload may replace it before then.
    std::shared_ptr<curl_slist> headers;
    std::size_t max_response_size;
    std::size_t in_flight = 0;
    std::deque<std::unique_ptr<Request>> queue;
    std::array<std::uint64_t, outcome_count> outcomes{};
    LatencyHistogram latency;  // request sent -> answer received
};

struct HttpBackends::Request {
    Request(Endpoint& target, CallReply call_reply) : endpoint(&target), reply(std::move(call_reply)) {}

    Endpoint* endpoint;
    CallReply reply;
    std::shared_ptr<curl_slist> headers;
    std::string procedure;  // the URI called, which a prefix backend needs
    std::string body;       // curl sends it from here, so it lives as long as the transfer
    Clock::time_point deadline;
    Clock::time_point sent;
    std::string response;
    bool too_large = false;
    char error_text[CURL_ERROR_SIZE] = {};
};

struct HttpBackends::Watch {
    uv_poll_t poll;
    HttpBackends* owner;
    curl_socket_t socket;
};

HttpBackends::HttpBackends(uv_loop_t* loop, std::size_t max_response_size)
    : loop_(loop), max_response_size_(max_response_size), multi_(curl_multi_init()) {
    if (!multi_) throw std::runtime_error("libcurl cannot create a multi handle");
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, on_timer_change);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
}

HttpBackends::~HttpBackends() { shutdown(); }

Procedure HttpBackends::procedure(Realm& realm, const config::BackendConfig& backend) {
    // A reload registers the realm's backends again: one that was there
    // before keeps its queue, its requests in flight and its metrics.
    auto same = std::find_if(endpoints_.begin(), endpoints_.end(), [&](const std::unique_ptr<Endpoint>& e) {
        return e->realm == &realm && e->config.procedure == backend.procedure && e->config.prefix == backend.prefix;
    });
    if (same == endpoints_.end()) {
        auto endpoint = std::make_unique<Endpoint>();
        endpoint->realm = &realm;
        // The star tells a prefix backend from an exact one of the same URI.
        endpoint->labels = "realm=\"" + escape_label_value(realm.name()) + "\",procedure=\"" +
                           escape_label_value(backend.procedure + (backend.prefix ? "*" : "")) + "\"";
        same = endpoints_.insert(endpoints_.end(), std::move(endpoint));
    }
    Endpoint& endpoint = **same;
    endpoint.config = backend;
    const std::size_t realm_limit = realm.config().max_message_size;
    endpoint.max_response_size = realm_limit != 0 ? realm_limit : max_response_size_;
    // "Expect:" keeps curl from waiting for a 100 Continue before larger bodies.
    curl_slist* headers = nullptr;
    for (const char* line : {"Content-Type: application/json", "Expect:"}) headers = curl_slist_append(headers, line);
    for (const auto& [name, value] : backend.headers) {
        headers = curl_slist_append(headers, (name + ": " + value).c_str());
    }
    if (!headers) throw std::bad_alloc();
    endpoint.headers.reset(headers, curl_slist_free_all);

    // Every connection a backend may use at once stays in the cache after its
    // request, so a steady load reuses connections instead of opening new
    // ones. There is no per-host limit in curl: each endpoint's own limit and
    // queue decide, where the deadline and the metrics can see the waiting.
    std::size_t cache_size = 0;
    for (const auto& e : endpoints_) cache_size += e->config.max_concurrent;
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, static_cast<long>(std::min<std::size_t>(cache_size, LONG_MAX)));
    // A reload may have raised max_concurrent.
    start_queued(endpoint);

    Endpoint* target = &endpoint;
    return [this, target](Session& caller, const wamp::Call& call, CallReply reply) {
        this->call(*target, caller, call, std::move(reply));
    };
}

void HttpBackends::call(Endpoint& endpoint, Session& caller, const wamp::Call& call, CallReply reply) {
    if (!multi_) {
        reply.error(router::error_uri::internal, "the router is shutting down");
        return;
    }
    auto request = std::make_unique<Request>(endpoint, std::move(reply));
    request->procedure = call.procedure;
    request->body = json{{"procedure", call.procedure}, {"args", call.args}, {"session", caller.id()}}.dump();
    request->deadline = Clock::now() + std::chrono::milliseconds(endpoint.config.timeout_ms);
    if (endpoint.in_flight < endpoint.config.max_concurrent) {
        start(std::move(request));
    } else if (endpoint.queue.size() < endpoint.config.max_queued) {
        endpoint.queue.push_back(std::move(request));
    } else {
        answer_error(*request, Outcome::overloaded, error_uri::backend_overloaded,
                     "backend overloaded: " + std::to_string(endpoint.config.max_concurrent) +
                         " requests in flight and " + std::to_string(endpoint.config.max_queued) + " calls waiting");
    }
}

void HttpBackends::start(std::unique_ptr<Request> request) {
    Endpoint& endpoint = *request->endpoint;
    const Clock::time_point now = Clock::now();
    // Queued calls wait behind requests that started earlier and so end no
    // later than their deadline: a queued call expires at the latest when a
    // slot frees, which is here.
    if (now >= request->deadline) {
        answer_error(*request, Outcome::timeout, error_uri::backend_timeout,
                     "backend did not answer within " + std::to_string(endpoint.config.timeout_ms) + " ms");
        return;
    }
    CURL* easy = curl_easy_init();
    if (!easy) {
        answer_error(*request, Outcome::unreachable, error_uri::backend_unreachable,
                     "backend unreachable: out of memory");
        return;
    }
    const auto remaining = std::chrono::ceil<std::chrono::milliseconds>(request->deadline - now).count();
    curl_easy_setopt(easy, CURLOPT_URL, endpoint.config.url.c_str());
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "kreuz/" KREUZ_VERSION);
    request->headers = endpoint.headers;
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, request->headers.get());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(request->body.size()));
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request->body.data());
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(remaining));
    // No signals for the resolver's timeouts: they would interrupt the loop.
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, request->error_text);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, request.get());
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, +[](char* data, std::size_t size, std::size_t count, void* target) {
        auto& receiving = *static_cast<Request*>(target);
        const std::size_t bytes = size * count;
        if (bytes > receiving.endpoint->max_response_size - receiving.response.size()) {
            receiving.too_large = true;
            return std::size_t{0};  // curl ends the transfer with CURLE_WRITE_ERROR
        }
        receiving.response.append(data, bytes);
        return bytes;
    });
    if (const CURLMcode code = curl_multi_add_handle(multi_, easy); code != CURLM_OK) {
        curl_easy_cleanup(easy);
        answer_error(*request, Outcome::unreachable, error_uri::backend_unreachable,
                     std::string("backend unreachable: ") + curl_multi_strerror(code));
        return;
    }
    request->sent = now;
    ++endpoint.in_flight;
    running_.emplace(easy, std::move(request));
}

void HttpBackends::start_queued(Endpoint& endpoint) {
    while (endpoint.in_flight < endpoint.config.max_concurrent && !endpoint.queue.empty()) {
        std::unique_ptr<Request> next = std::move(endpoint.queue.front());
        endpoint.queue.pop_front();
        // Nobody would see the answer to a caller that has left, so the
        // backend is spared the work.
        if (!endpoint.realm->find_session(next->reply.session_id())) continue;
        start(std::move(next));
    }
}

void HttpBackends::collect_finished() {
    int remaining = 0;
    while (CURLMsg* message = curl_multi_info_read(multi_, &remaining)) {
        if (message->msg != CURLMSG_DONE) continue;
        // The message dies with the handle's removal.
        CURL* easy = message->easy_handle;
        const CURLcode code = message->data.result;
        long status = 0;
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        curl_multi_remove_handle(multi_, easy);
        curl_easy_cleanup(easy);
        auto node = running_.extract(easy);
        Request& request = *node.mapped();
        Endpoint& endpoint = *request.endpoint;
        --endpoint.in_flight;
        endpoint.latency.observe(std::chrono::duration<double>(Clock::now() - request.sent).count());
        answer(request, code, status);
        start_queued(endpoint);
    }
}

void HttpBackends::answer(Request& request, CURLcode code, long status) {
    if (request.too_large) {
        answer_error(request, Outcome::invalid_response, error_uri::backend_invalid_response,
                     "backend answer larger than " + std::to_string(request.endpoint->max_response_size) + " bytes");
        return;
    }
    if (code == CURLE_OPERATION_TIMEDOUT) {
        answer_error(request, Outcome::timeout, error_uri::backend_timeout,
                     "backend did not answer within " + std::to_string(request.endpoint->config.timeout_ms) + " ms");
        return;
    }
    const std::string curl_text = request.error_text[0] != '\0' ? request.error_text : curl_easy_strerror(code);
    // The URL's scheme was checked when the configuration was loaded, so an
    // unsupported protocol can only be the answer's: HTTP/0.9, i.e. no HTTP.
    if (code == CURLE_WEIRD_SERVER_REPLY || code == CURLE_UNSUPPORTED_PROTOCOL) {
        answer_error(request, Outcome::invalid_response, error_uri::backend_invalid_response,
                     "backend answer is not HTTP: " + curl_text);
        return;
    }
    if (code != CURLE_OK) {
        answer_error(request, Outcome::unreachable, error_uri::backend_unreachable,
                     "backend unreachable: " + curl_text);
        return;
    }
    const json body = json::parse(request.response, nullptr, false);
    const bool success = status >= 200 && status < 300;
    if (!body.is_discarded()) {
        if (std::optional<BackendError> raised = error_of(body)) {
            answer_error(request, Outcome::error, raised->uri, raised->description, std::move(raised->details));
            return;
        }
        if (success) {
            ++request.endpoint->outcomes[static_cast<std::size_t>(Outcome::result)];
            request.reply.result(body);
            return;
        }
    }
    if (!success) {
        answer_error(request, Outcome::http_status, error_uri::backend_http_status,
                     "backend answered HTTP " + std::to_string(status), json{{"status", status}});
        return;
    }
    answer_error(request, Outcome::invalid_response, error_uri::backend_invalid_response, "backend answer is not JSON");
}

void HttpBackends::answer_error(Request& request, Outcome outcome, const std::string& uri,
                                const std::string& description, std::optional<json> details) {
    ++request.endpoint->outcomes[static_cast<std::size_t>(outcome)];
    // The backend's own errors are answers like any other; the rest is
    // trouble the operator has to hear about.
    if (outcome != Outcome::error) {
        spdlog::warn("[session {}] call to {} via {}: {}", request.reply.session_id(), request.procedure,
                     request.endpoint->config.url, description);
    }
    request.reply.error(uri, description, std::move(details));
}

void HttpBackends::shutdown() {
    if (!multi_) return;
    // Everything is taken out first, and answered last: answering runs
    // session code, which must find this object consistent.
    std::vector<std::unique_ptr<Request>> aborted;
    for (auto& [easy, request] : running_) {
        curl_multi_remove_handle(multi_, easy);
        curl_easy_cleanup(easy);
        aborted.push_back(std::move(request));
    }
    running_.clear();
    for (auto& endpoint : endpoints_) {
        endpoint->in_flight = 0;
        for (auto& request : endpoint->queue) aborted.push_back(std::move(request));
        endpoint->queue.clear();
    }
    curl_multi_cleanup(multi_);
    multi_ = nullptr;
    while (!watches_.empty()) close_watch(*watches_.begin());
    if (timer_) {
        close_and_delete(timer_);
        timer_ = nullptr;
    }
    for (auto& request : aborted) request->reply.error(router::error_uri::internal, "the router is shutting down");
}

void HttpBackends::close_watch(Watch* watch) {
    watches_.erase(watch);
    uv_poll_stop(&watch->poll);
    uv_close(reinterpret_cast<uv_handle_t*>(&watch->poll),
             [](uv_handle_t* closed) { delete static_cast<Watch*>(closed->data); });
}

// The sessions' connections keep the loop running while calls are pending, so
// the handles below are unreferenced: they never hold the loop up by
// themselves, and a shutdown does not wait for a slow backend.
int HttpBackends::on_socket(CURL*, curl_socket_t socket, int what, void* self, void* watch_pointer) {
    HttpBackends& backends = *static_cast<HttpBackends*>(self);
    auto* watch = static_cast<Watch*>(watch_pointer);
    if (what == CURL_POLL_REMOVE) {
        if (watch) {
            backends.close_watch(watch);
            curl_multi_assign(backends.multi_, socket, nullptr);
        }
        return 0;
    }
    if (!watch) {
        watch = new Watch{};
        if (const int rc = uv_poll_init_socket(backends.loop_, &watch->poll, socket); rc != 0) {
            delete watch;
            spdlog::error("cannot watch a backend connection's socket: {}", uv_strerror(rc));
            return -1;
        }
        watch->poll.data = watch;
        watch->owner = &backends;
        watch->socket = socket;
        uv_unref(reinterpret_cast<uv_handle_t*>(&watch->poll));
        backends.watches_.insert(watch);
        curl_multi_assign(backends.multi_, socket, watch);
    }
    const int events = ((what & CURL_POLL_IN) ? UV_READABLE : 0) | ((what & CURL_POLL_OUT) ? UV_WRITABLE : 0);
    uv_poll_start(&watch->poll, events, on_poll);
    return 0;
}

int HttpBackends::on_timer_change(CURLM*, long timeout_ms, void* self) {
    HttpBackends& backends = *static_cast<HttpBackends*>(self);
    if (timeout_ms < 0) {
        if (backends.timer_) uv_timer_stop(backends.timer_);
        return 0;
    }
    if (!backends.timer_) {
        backends.timer_ = new uv_timer_t;
        uv_timer_init(backends.loop_, backends.timer_);
        backends.timer_->data = &backends;
        uv_unref(reinterpret_cast<uv_handle_t*>(backends.timer_));
    }
    // curl must not be called from inside this callback; a zero timeout runs
    // in the next loop turn.
    uv_timer_start(backends.timer_, on_timer, static_cast<std::uint64_t>(timeout_ms), 0);
    return 0;
}

void HttpBackends::on_poll(uv_poll_t* handle, int status, int events) {
    const Watch& watch = *static_cast<Watch*>(handle->data);
    HttpBackends& backends = *watch.owner;
    int flags = 0;
    if (status < 0) {
        flags = CURL_CSELECT_ERR;
    } else {
        if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
        if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
    }
    int running = 0;
    curl_multi_socket_action(backends.multi_, watch.socket, flags, &running);
    backends.collect_finished();
}

void HttpBackends::on_timer(uv_timer_t* handle) {
    HttpBackends& backends = *static_cast<HttpBackends*>(handle->data);
    int running = 0;
    curl_multi_socket_action(backends.multi_, CURL_SOCKET_TIMEOUT, 0, &running);
    backends.collect_finished();
}

void HttpBackends::append_metrics(std::string& out) const {
    if (endpoints_.empty()) return;
    append_help(out, "kreuz_backend_requests_total", "counter",
                "Calls to procedures served by HTTP backends, by how they ended.");
    for (const auto& endpoint : endpoints_) {
        for (std::size_t i = 0; i < outcome_count; ++i) {
            append_sample(out, "kreuz_backend_requests_total",
                          endpoint->labels + ",outcome=\"" + std::string(outcome_names[i]) + "\"",
                          static_cast<double>(endpoint->outcomes[i]));
        }
    }
    append_help(out, "kreuz_backend_in_flight", "gauge", "Requests sent to the backend and not answered yet.");
    for (const auto& endpoint : endpoints_) {
        append_sample(out, "kreuz_backend_in_flight", endpoint->labels, static_cast<double>(endpoint->in_flight));
    }
    append_help(out, "kreuz_backend_queued", "gauge", "Calls waiting for one of the backend's max_concurrent slots.");
    for (const auto& endpoint : endpoints_) {
        append_sample(out, "kreuz_backend_queued", endpoint->labels, static_cast<double>(endpoint->queue.size()));
    }
    append_help(out, "kreuz_backend_latency_seconds", "histogram",
                "From sending the request to the backend's complete answer (time queued not included).");
    for (const auto& endpoint : endpoints_) {
        append_histogram(out, "kreuz_backend_latency_seconds", endpoint->labels, endpoint->latency);
    }
}

void add_backend_procedures(Realm& realm, HttpBackends& backends) {
    for (const config::BackendConfig& backend : realm.config().backends) {
        Procedure procedure = backends.procedure(realm, backend);
        if (backend.prefix) {
            realm.dealer().add_prefix(backend.procedure, std::move(procedure));
        } else {
            realm.dealer().add(backend.procedure, std::move(procedure));
        }
    }
}

}  // namespace kreuz::http
