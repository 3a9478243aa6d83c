#include "http/operator_pages.h"

#include <array>

#include <spdlog/spdlog.h>

#include "http/form_encoding.h"
#include "http/prometheus.h"
#include "http/response.h"

namespace kreuz::http {

namespace {

bool is_get(const ws::HttpRequest& request) { return request.method == "GET" || request.method == "HEAD"; }

std::string not_get() { return json_error(405, "use GET", "Allow: GET, HEAD\r\n"); }

std::string realm_label(const Realm& realm) { return "realm=\"" + escape_label_value(realm.name()) + "\""; }

// The names of the WAMP v1 message types, by type id.
constexpr std::array<const char*, 9> message_type_names = {
    "WELCOME", "PREFIX", "CALL", "CALLRESULT", "CALLERROR", "SUBSCRIBE", "UNSUBSCRIBE", "PUBLISH", "EVENT"};

// Only a cluster node has these families: a single node shows no Redis.
void append_cluster_metrics(std::string& out, const router::BackplaneStatus& cluster) {
    auto metric = [&out](const char* name, const char* type, const char* help, double value) {
        append_help(out, name, type, help);
        append_sample(out, name, {}, value);
    };
    metric("kreuz_cluster_redis_connected", "gauge", "1 while the node's connections to Redis are up.",
           cluster.connected ? 1 : 0);
    metric("kreuz_cluster_redis_connects_total", "counter", "Times the link to Redis came up.",
           static_cast<double>(cluster.connects));
    metric("kreuz_cluster_redis_reconnect_attempts_total", "counter",
           "Attempts to reach Redis again after a failure or a loss.", static_cast<double>(cluster.reconnect_attempts));
    metric("kreuz_cluster_redis_pending", "gauge",
           "Commands sent to Redis and not answered yet; at cluster.max_pending, cross-node traffic is dropped.",
           static_cast<double>(cluster.redis_pending));
    append_help(out, "kreuz_cluster_publications_total", "counter",
                "Publications between nodes: sent to the others, not sent (Redis away or backlogged), received.");
    for (const auto& [direction, value] : {std::pair{"sent", cluster.events_sent},
                                           std::pair{"not_sent", cluster.events_not_sent},
                                           std::pair{"received", cluster.events_received}}) {
        append_sample(out, "kreuz_cluster_publications_total", std::string("direction=\"") + direction + "\"",
                      static_cast<double>(value));
    }
    metric("kreuz_cluster_remote_deliveries_total", "counter",
           "EVENTs queued to this node's subscribers for publications of other nodes.",
           static_cast<double>(cluster.remote_deliveries));
    metric("kreuz_cluster_redis_subscriptions", "gauge", "Redis channels held for this node's subscribers.",
           static_cast<double>(cluster.subscriptions));
    metric("kreuz_cluster_invalid_messages_total", "counter", "Messages from other nodes that were dropped unread.",
           static_cast<double>(cluster.invalid));
    metric("kreuz_cluster_nodes", "gauge", "Other nodes heard from within node_timeout.",
           static_cast<double>(cluster.nodes));
    append_help(out, "kreuz_cluster_calls_total", "counter",
                "CALLs across nodes: forwarded to a callee on another node, served here for another node's caller.");
    append_sample(out, "kreuz_cluster_calls_total", "direction=\"forwarded\"", static_cast<double>(cluster.calls_forwarded));
    append_sample(out, "kreuz_cluster_calls_total", "direction=\"served\"", static_cast<double>(cluster.calls_served));
    metric("kreuz_cluster_calls_pending", "gauge", "CALLs forwarded to another node and not answered yet.",
           static_cast<double>(cluster.calls_pending));
}

}  // namespace

std::string health_response(const ws::HttpRequest& request, const HttpApiSources& sources) {
    if (!is_get(request)) return not_get();
    const bool ready = !sources.server.shutting_down();
    const std::string_view path = request.path();
    std::string response;
    if (path == "/health/live") {
        response = json_response(200, {{"status", "ok"}});
    } else if (path == "/health/ready") {
        response = json_response(ready ? 200 : 503, {{"status", ready ? "ok" : "shutting down"}});
    } else {
        std::size_t sessions = 0;
        for (const auto& realm : sources.realms) sessions += realm->session_count();
        std::optional<router::BackplaneStatus> cluster;
        if (sources.backplane) cluster = sources.backplane->status();
        const char* status = !ready ? "shutting down" : cluster && !cluster->connected ? "degraded" : "ok";
        nlohmann::json body{{"status", status},
                            {"live", true},
                            {"ready", ready},
                            {"version", sources.server_ident},
                            {"connections", sources.server.connection_count()},
                            {"sessions", sessions}};
        if (cluster) {
            body["cluster"] = {{"node_id", cluster->node_id},
                               {"redis", cluster->connected ? "connected" : "disconnected"},
                               {"redis_address", cluster->redis}};
            if (!cluster->connected) body["cluster"]["redis_error"] = cluster->last_error;
        }
        response = json_response(ready ? 200 : 503, body);
    }
    return response;
}

std::string metrics_response(const ws::HttpRequest& request, const HttpApiSources& sources) {
    if (!is_get(request)) return not_get();
    return http_response(200, "text/plain; version=0.0.4; charset=utf-8", metrics_text(sources));
}

std::string trace_response(const ws::HttpRequest& request, const std::string& peer_ip,
                           const std::vector<std::unique_ptr<Realm>>& realms) {
    if (peer_ip != "127.0.0.1" && peer_ip != "::1") return json_error(403, "only from a loopback address");
    if (request.method != "POST") return json_error(405, "use POST", "Allow: POST\r\n");
    const FormFields query = parse_form(query_of(request.target));
    const auto id = form_value(query, "session");
    const auto enable = form_value(query, "enable");
    if (!id || !enable || (*enable != "true" && *enable != "false")) {
        return json_error(400, "session=ID and enable=true|false are required");
    }
    for (const auto& realm : realms) {
        if (router::Session* session = realm->find_session(*id)) {
            session->set_trace(*enable == "true");
            spdlog::info("[session {}] trace {}", *id, session->trace() ? "on" : "off");
            return json_response(200, {{"session", *id}, {"realm", realm->name()}, {"trace", session->trace()}});
        }
    }
    return json_error(404, "no such session");
}

std::string metrics_text(const HttpApiSources& sources) {
    std::string out;
    const ws::ServerStats& stats = sources.server.stats();
    auto counter = [&out](const char* name, const char* help, double value) {
        append_help(out, name, "counter", help);
        append_sample(out, name, {}, value);
    };
    append_help(out, "kreuz_build_info", "gauge", "The running version.");
    append_sample(out, "kreuz_build_info", "version=\"" + escape_label_value(KREUZ_VERSION) + "\"", 1);
    append_help(out, "kreuz_connections", "gauge", "Open TCP connections, in any state.");
    append_sample(out, "kreuz_connections", {}, static_cast<double>(sources.server.connection_count()));
    counter("kreuz_connections_accepted_total", "TCP connections accepted.", static_cast<double>(stats.accepted));
    counter("kreuz_connections_refused_total",
            "Connections refused by a connection guard or at the file-descriptor limit.",
            static_cast<double>(stats.refused));
    counter("kreuz_connections_refused_fd_limit_total",
            "Connections refused because the process had no file descriptor left to accept them.",
            static_cast<double>(stats.refused_fd_limit));
    counter("kreuz_websockets_opened_total", "WebSocket upgrades completed.",
            static_cast<double>(stats.websockets_opened));
    counter("kreuz_http_requests_total", "Plain HTTP requests answered.", static_cast<double>(stats.http_requests));
    counter("kreuz_received_bytes_total", "Bytes read from sockets.", static_cast<double>(stats.bytes_received));
    counter("kreuz_sent_bytes_total", "Bytes of queued frames and responses written.",
            static_cast<double>(stats.bytes_sent));
    counter("kreuz_slow_consumers_dropped_total", "Connections closed with 1008 for not reading their messages.",
            static_cast<double>(stats.slow_consumers));

    // One family at a time across all realms, as the format requires.
    auto per_realm = [&](const char* name, const char* type, const char* help, auto value) {
        append_help(out, name, type, help);
        for (const auto& realm : sources.realms) append_sample(out, name, realm_label(*realm), value(*realm));
    };
    per_realm("kreuz_sessions", "gauge", "Open WAMP sessions.",
              [](const Realm& r) { return static_cast<double>(r.session_count()); });
    per_realm("kreuz_sessions_opened_total", "counter", "WAMP sessions opened.",
              [](const Realm& r) { return static_cast<double>(r.metrics().sessions_opened); });
    for (const bool received : {true, false}) {
        const char* name = received ? "kreuz_messages_received_total" : "kreuz_messages_sent_total";
        append_help(out, name, "counter", received ? "WAMP messages received, by type." : "WAMP messages sent, by type.");
        for (const auto& realm : sources.realms) {
            const auto& counts = received ? realm->metrics().messages_in : realm->metrics().messages_out;
            for (std::size_t type = 0; type < counts.size(); ++type) {
                append_sample(out, name, realm_label(*realm) + ",type=\"" + message_type_names[type] + "\"",
                              static_cast<double>(counts[type]));
            }
        }
    }
    per_realm("kreuz_publications_total", "counter", "Publications by sessions, the publish bridge and dispatch.",
              [](const Realm& r) { return static_cast<double>(r.metrics().publications); });
    per_realm("kreuz_deliveries_total", "counter", "EVENTs queued to receivers.",
              [](const Realm& r) { return static_cast<double>(r.metrics().deliveries); });
    append_help(out, "kreuz_calls_total", "counter", "CALLs answered, by outcome.");
    for (const auto& realm : sources.realms) {
        const router::CallCounts& calls = realm->metrics().calls;
        for (const auto& [outcome, value] : {std::pair{"result", calls.results}, std::pair{"error", calls.errors},
                                             std::pair{"caller_gone", calls.dropped}}) {
            append_sample(out, "kreuz_calls_total", realm_label(*realm) + ",outcome=\"" + outcome + "\"",
                          static_cast<double>(value));
        }
    }
    append_help(out, "kreuz_call_duration_seconds", "histogram", "From a CALL to its CALLRESULT or CALLERROR.");
    for (const auto& realm : sources.realms) {
        append_histogram(out, "kreuz_call_duration_seconds", realm_label(*realm), realm->metrics().call_latency);
    }
    per_realm("kreuz_auth_failures_total", "counter", "WAMP-CRA requests refused (unknown key, bad signature, "
                                                      "anonymous not allowed).",
              [](const Realm& r) { return static_cast<double>(r.metrics().auth_failures); });
    append_help(out, "kreuz_denied_total", "counter", "Actions the realm's rules refused.");
    for (const auto& realm : sources.realms) {
        const router::RealmMetrics& m = realm->metrics();
        for (const auto& [action, value] : {std::pair{"publish", m.denied_publish},
                                            std::pair{"subscribe", m.denied_subscribe}, std::pair{"call", m.denied_call}}) {
            append_sample(out, "kreuz_denied_total", realm_label(*realm) + ",action=\"" + action + "\"",
                          static_cast<double>(value));
        }
    }
    append_help(out, "kreuz_bridge_requests_total", "counter", "Publish bridge requests, by answer.");
    for (const auto& realm : sources.realms) {
        if (!realm->config().publish_bridge) continue;
        append_sample(out, "kreuz_bridge_requests_total", realm_label(*realm) + ",outcome=\"accepted\"",
                      static_cast<double>(realm->metrics().bridge_accepted));
        append_sample(out, "kreuz_bridge_requests_total", realm_label(*realm) + ",outcome=\"refused\"",
                      static_cast<double>(realm->metrics().bridge_refused));
    }
    per_realm("kreuz_registrations", "gauge", "Procedures registered by sessions (routed RPC).",
              [](const Realm& r) { return static_cast<double>(r.registrations().registration_count()); });
    per_realm("kreuz_routed_calls_pending", "gauge", "CALLs forwarded to a callee and not yet answered.",
              [](const Realm& r) { return static_cast<double>(r.registrations().pending_count()); });
    if (sources.backplane) append_cluster_metrics(out, sources.backplane->status());
    if (sources.more_metrics) sources.more_metrics(out);
    return out;
}

}  // namespace kreuz::http
