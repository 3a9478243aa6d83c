// The composition root of a kreuz node: one Realm per configured realm, a
// WebSocket endpoint for each of its paths, the echo endpoint, and the HTTP
// site (operator pages, publish bridges, backends, static files).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "http/backends.h"
#include "http/operator_pages.h"
#include "http/publish_bridge.h"
#include "http/static_files.h"
#include "router/cluster/cluster.h"
#include "router/realm.h"
#include "router/timers.h"
#include "websocket/server.h"

namespace kreuz::app {

// "kreuz/<version>", the serverIdent of WELCOME.
std::string server_ident();

class Node {
public:
    Node(const config::Config& config, ws::Server& server);

    router::Realm* find_realm(const std::string& name);
    const std::vector<std::unique_ptr<router::Realm>>& realms() const { return realms_; }

    // Takes over a configuration that config::restart_required() found
    // reloadable: every realm's rules, roles, users, limits, builtins,
    // backends and publish bridge, and the HTTP pages. Sessions stay; calls
    // in flight finish under the configuration they started with.
    void reload(const config::Config& next);

    // Aborts what the node itself has going (requests to HTTP backends, the
    // link to Redis) and closes its handles, so that the loop ends with
    // nothing left open.
    void shutdown();

private:
    std::string answer_http(const ws::HttpRequest& request, const ws::Connection& connection);
    void add_procedures_and_bridge(router::Realm& realm);

    std::vector<std::unique_ptr<router::Realm>> realms_;
    // After realms_, so it is destroyed first: a callback it drops may hold a
    // CallReply, which looks for its session in a realm.
    router::Timers timers_;
    // After realms_ for the same reason: aborting a request answers its call.
    http::HttpBackends backends_;
    // Before realms_ is filled: every realm joins it first. Declared after
    // timers_, which it runs on, and after realms_, which hold it, so that it
    // is destroyed before both: its link cancels its timers.
    std::unique_ptr<cluster::Cluster> cluster_;
    // The publish bridges of the realms that have one.
    std::vector<http::PublishBridge> bridges_;
    http::HttpApiSources api_;
    http::StaticFiles www_;
    config::HttpConfig http_;
};

}  // namespace kreuz::app
