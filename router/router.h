// Joins the layers: one Realm per configured realm, a WebSocket endpoint for
// each of its paths, the echo endpoint, and the plain-HTTP pages.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
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

private:
    std::string answer_http(const ws::HttpRequest& request) const;

    std::vector<std::unique_ptr<Realm>> realms_;
    // After realms_, so it is destroyed first: a callback it drops may hold a
    // CallReply, which looks for its session in a realm.
    Timers timers_;
    StaticFiles www_;
    bool serve_www_;
};

}  // namespace kreuz::router
