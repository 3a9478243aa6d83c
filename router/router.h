// Joins the layers: one Realm per configured realm, a WebSocket endpoint for
// each of its paths, the echo endpoint, and the plain-HTTP pages.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "router/http_api.h"
#include "router/http_backend.h"
#include "router/publish_bridge.h"
#include "router/realm.h"
#include "router/static_files.h"
#include "router/timers.h"
#include "websocket/server.h"

namespace kreuz::router {

// "kreuz/<version>", the serverIdent of WELCOME.
std::string server_ident();

class Router {
public:
    Router(const config::Config& config, ws::Server& server);

    Realm* find_realm(const std::string& name);
    const std::vector<std::unique_ptr<Realm>>& realms() const { return realms_; }

    // Takes over a configuration that config::restart_required() found
    // reloadable: every realm's rules, roles, users, limits, builtins,
    // backends and publish bridge, and the HTTP pages. Sessions stay; calls
    // in flight finish under the configuration they started with.
    void reload(const config::Config& next);

    // Aborts what the router itself has going (requests to HTTP backends) and
    // closes its handles, so that the loop ends with nothing left open.
    void shutdown() { backends_.shutdown(); }

private:
    std::string answer_http(const ws::HttpRequest& request, const ws::Connection& connection);
    void add_procedures_and_bridge(Realm& realm);

    std::vector<std::unique_ptr<Realm>> realms_;
    // After realms_, so it is destroyed first: a callback it drops may hold a
    // CallReply, which looks for its session in a realm.
    Timers timers_;
    // After realms_ for the same reason: aborting a request answers its call.
    HttpBackends backends_;
    // The publish bridges of the realms that have one.
    std::vector<PublishBridge> bridges_;
    HttpApiSources api_;
    StaticFiles www_;
    config::HttpConfig http_;
};

}  // namespace kreuz::router
