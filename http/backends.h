// Procedures answered by HTTP backends: a CALL becomes a POST to the
// backend's URL, and its answer the CALLRESULT or CALLERROR.
//
// Every request of the router goes through one libcurl multi handle driven by
// the router's libuv loop: curl says which sockets to watch for what
// (CURLMOPT_SOCKETFUNCTION: one uv_poll_t per socket) and when it wants to be
// called back (CURLMOPT_TIMERFUNCTION: one uv_timer_t), and the loop hands
// readiness and expiry back with curl_multi_socket_action. So there is no
// thread of ours, nothing blocks the loop, and the multi handle's connection
// cache keeps the connections to the backends alive from one call to the next.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <curl/curl.h>
#include <nlohmann/json.hpp>
#include <uv.h>

#include "config/config.h"
#include "router/dealer.h"
#include "router/metrics.h"

namespace kreuz::http {

using router::CallReply;
using router::LatencyHistogram;
using router::Procedure;
using router::Realm;
using router::Session;

// The answers of procedures served by HTTP backends (docs/CONFIG.md).
namespace error_uri {
inline constexpr const char* backend = "urn:kreuz:error:backend";
inline constexpr const char* backend_http_status = "urn:kreuz:error:backend-http-status";
inline constexpr const char* backend_invalid_response = "urn:kreuz:error:backend-invalid-response";
inline constexpr const char* backend_timeout = "urn:kreuz:error:backend-timeout";
inline constexpr const char* backend_unreachable = "urn:kreuz:error:backend-unreachable";
inline constexpr const char* backend_overloaded = "urn:kreuz:error:backend-overloaded";
}  // namespace error_uri


class HttpBackends {
public:
    // Answers larger than max_response_size are refused as invalid in realms
    // without a max_message_size of their own: a backend must not be able to
    // make the router buffer without bound.
    HttpBackends(uv_loop_t* loop, std::size_t max_response_size);
    ~HttpBackends();
    HttpBackends(const HttpBackends&) = delete;
    HttpBackends& operator=(const HttpBackends&) = delete;

    // The procedure that forwards calls to `backend`, one of `realm`'s. The
    // same procedure URI and prefix flag again (a reload) updates that
    // backend's settings; calls in flight finish under the old ones.
    Procedure procedure(Realm& realm, const config::BackendConfig& backend);

    // Aborts every request in flight or queued (their callers are told the
    // router is shutting down) and closes the libuv handles, so that the loop
    // can end. Calls that come after it are refused the same way.
    void shutdown();

    // kreuz_backend_* families for GET /metrics.
    void append_metrics(std::string& out) const;

private:
    // How a call to a backend ended, for kreuz_backend_requests_total.
    enum class Outcome : std::size_t { result, error, http_status, timeout, unreachable, invalid_response, overloaded };
    static constexpr std::size_t outcome_count = static_cast<std::size_t>(Outcome::overloaded) + 1;

    struct Endpoint;
    struct Request;
    struct Watch;

    void call(Endpoint& endpoint, Session& caller, const wamp::Call& call, CallReply reply);
    // Hands the request to curl, or answers it at once when that is impossible.
    void start(std::unique_ptr<Request> request);
    // Starts queued calls while the endpoint has free slots.
    void start_queued(Endpoint& endpoint);
    // Answers the calls whose transfers curl has finished.
    void collect_finished();
    void answer(Request& request, CURLcode code, long status);
    void answer_error(Request& request, Outcome outcome, const std::string& uri, const std::string& description,
                      std::optional<nlohmann::json> details = std::nullopt);
    void close_watch(Watch* watch);

    static int on_socket(CURL* easy, curl_socket_t socket, int what, void* self, void* watch);
    static int on_timer_change(CURLM* multi, long timeout_ms, void* self);
    static void on_poll(uv_poll_t* handle, int status, int events);
    static void on_timer(uv_timer_t* handle);

    uv_loop_t* loop_;
    std::size_t max_response_size_;
    CURLM* multi_;                // null once shut down
    uv_timer_t* timer_ = nullptr;  // created on curl's first timeout
    std::unordered_set<Watch*> watches_;
    std::vector<std::unique_ptr<Endpoint>> endpoints_;
    std::unordered_map<CURL*, std::unique_ptr<Request>> running_;
};

// Registers every backend of the realm's configuration with its dealer.
void add_backend_procedures(Realm& realm, HttpBackends& backends);

}  // namespace kreuz::http
