#include "app/node.h"

#include <chrono>

#include <spdlog/spdlog.h>

#include "router/authentication.h"
#include "router/builtin_procedures.h"
#include "router/websocket_session.h"
#include "websocket/echo.h"

namespace kreuz::app {

std::string server_ident() { return std::string("kreuz/") + KREUZ_VERSION; }

Node::Node(const config::Config& config, ws::Server& server)
    : timers_(server.loop()),
      backends_(server.loop(), config.websocket.max_message_size),
      api_{server, server_ident(), realms_, [this](std::string& out) { backends_.append_metrics(out); }},
      www_(config.http.www_root),
      http_(config.http) {
    if (config.cluster) {
        std::string node_id = config.cluster->node_id.empty() ? cluster::default_node_id() : config.cluster->node_id;
        cluster_ = std::make_unique<cluster::Cluster>(*config.cluster, std::move(node_id), server.loop(), timers_);
        api_.backplane = cluster_.get();
    }
    for (const config::RealmConfig& realm_config : config.realms) {
        auto realm = std::make_unique<router::Realm>(realm_config, server_ident(), timers_);
        if (cluster_) cluster_->add_realm(*realm);
        add_procedures_and_bridge(*realm);
        for (const std::string& path : realm_config.paths) {
            ws::Endpoint endpoint;
            endpoint.path = path;
            endpoint.policy.subprotocols = {"wamp"};
            endpoint.policy.subprotocol_required = !realm_config.accept_no_subprotocol;
            // AutobahnPython's words, which WAMP v1 clients already know.
            endpoint.policy.subprotocol_missing_reason = "this server only speaks WAMP";
            endpoint.policy.deflate = config.websocket.deflate;
            endpoint.policy.allowed_origins = realm_config.allowed_origins;
            endpoint.max_message_size = realm_config.max_message_size;
            router::Realm* target = realm.get();
            endpoint.open = [target](ws::Connection& connection) {
                return router::open_websocket_session(*target, connection);
            };
            server.add_endpoint(std::move(endpoint));
            spdlog::info("realm {} on {}", realm_config.name, path);
        }
        realms_.push_back(std::move(realm));
    }
    if (!config.echo_path.empty()) {
        server.add_endpoint(ws::echo_endpoint(config.echo_path, config.websocket.deflate));
        spdlog::info("echo endpoint on {}", config.echo_path);
    }
    server.set_http_handler([this](const ws::HttpRequest& request, const ws::Connection& connection) {
        return answer_http(request, connection);
    });
    if (cluster_) cluster_->start();
}

void Node::shutdown() {
    backends_.shutdown();
    if (cluster_) cluster_->shutdown();
}

void Node::add_procedures_and_bridge(router::Realm& realm) {
    router::add_builtin_procedures(realm);
    router::add_auth_procedures(realm);
    http::add_backend_procedures(realm, backends_);
    realm.registrations().add_procedures();
    if (const auto& bridge = realm.config().publish_bridge) {
        bridges_.emplace_back(realm);
        spdlog::info("realm {}: publish bridge on {}", realm.name(), bridge->path);
    }
}

void Node::reload(const config::Config& next) {
    bridges_.clear();
    for (std::size_t i = 0; i < realms_.size(); ++i) {
        router::Realm& realm = *realms_[i];
        realm.reconfigure(next.realms[i]);
        realm.dealer().clear();
        add_procedures_and_bridge(realm);
        realm.registrations().restore();
    }
    www_ = http::StaticFiles(next.http.www_root);
    http_ = next.http;
}

router::Realm* Node::find_realm(const std::string& name) {
    for (auto& realm : realms_) {
        if (realm->name() == name) return realm.get();
    }
    return nullptr;
}

std::string Node::answer_http(const ws::HttpRequest& request, const ws::Connection& connection) {
    const std::string_view path = request.path();
    for (http::PublishBridge& bridge : bridges_) {
        if (path == bridge.path()) return bridge.respond(request, std::chrono::system_clock::now());
    }
    if (http_.health && (path == "/health" || path == "/health/live" || path == "/health/ready")) {
        return http::health_response(request, api_);
    }
    if (http_.metrics && path == "/metrics") return http::metrics_response(request, api_);
    if (http_.admin && path == "/admin/trace") return http::trace_response(request, connection.remote_ip(), realms_);
    if (http_.serve_www) {
        if (auto response = www_.respond(request)) return *response;
    }
    return ws::http_error_response(404, "not found");
}

}  // namespace kreuz::app
