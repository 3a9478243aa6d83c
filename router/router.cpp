#include "router/router.h"

#include <spdlog/spdlog.h>

#include "router/authentication.h"
#include "router/builtin_procedures.h"
#include "websocket/echo.h"

namespace kreuz::router {

std::string server_ident() { return std::string("kreuz/") + KREUZ_VERSION; }

Router::Router(const config::Config& config, ws::Server& server)
    : timers_(server.loop()), www_(config.http.www_root), serve_www_(config.http.serve_www) {
    for (const config::RealmConfig& realm_config : config.realms) {
        auto realm = std::make_unique<Realm>(realm_config, server_ident(), timers_);
        add_builtin_procedures(*realm);
        add_auth_procedures(*realm);
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
            Realm* target = realm.get();
            endpoint.open = [target](ws::Connection& connection) { return target->open_session(connection); };
            server.add_endpoint(std::move(endpoint));
            spdlog::info("realm {} on {}", realm_config.name, path);
        }
        realms_.push_back(std::move(realm));
    }
    if (!config.echo_path.empty()) {
        server.add_endpoint(ws::echo_endpoint(config.echo_path, config.websocket.deflate));
        spdlog::info("echo endpoint on {}", config.echo_path);
    }
    server.set_http_handler([this](const ws::HttpRequest& request, const ws::Connection&) { return answer_http(request); });
}

Realm* Router::find_realm(const std::string& name) {
    for (auto& realm : realms_) {
        if (realm->name() == name) return realm.get();
    }
    return nullptr;
}

std::string Router::answer_http(const ws::HttpRequest& request) const {
    if (serve_www_) {
        if (auto response = www_.respond(request)) return *response;
    }
    return ws::http_error_response(404, "not found");
}

}  // namespace kreuz::router
