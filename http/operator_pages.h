// kreuz's own pages on the plain-HTTP side of every listener: health for
// load balancers and orchestrators, and metrics for Prometheus.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "router/backplane.h"
#include "router/realm.h"
#include "websocket/http_request.h"
#include "websocket/server.h"

namespace kreuz::http {

using router::Realm;

// What the pages read; the application's Node owns all of it.
struct HttpApiSources {
    const ws::Server& server;
    std::string server_ident;  // "kreuz/<version>", for /health
    const std::vector<std::unique_ptr<Realm>>& realms;
    // Families of parts that keep their own counters (HTTP backends).
    std::function<void(std::string&)> more_metrics;
    // The cluster this node belongs to; nullptr for a single node.
    const router::Backplane* backplane = nullptr;
};

// GET /health (liveness and readiness in one JSON object), /health/live and
// /health/ready; 503 for readiness once shutdown has begun. A cluster node
// cut off from Redis still serves its own sessions, so it stays live and
// ready (200), and /health says "degraded" with the cluster's state.
std::string health_response(const ws::HttpRequest& request, const HttpApiSources& sources);

// GET /metrics in the Prometheus text format 0.0.4.
std::string metrics_response(const ws::HttpRequest& request, const HttpApiSources& sources);
std::string metrics_text(const HttpApiSources& sources);

// POST /admin/trace?session=ID&enable=true|false switches the session's
// message trace; only from a loopback address, since the trace logs what the
// session sends and receives. 200 with {"session", "trace"}, 404 for an
// unknown session, 403 from elsewhere.
std::string trace_response(const ws::HttpRequest& request, const std::string& peer_ip,
                           const std::vector<std::unique_ptr<Realm>>& realms);

}  // namespace kreuz::http
