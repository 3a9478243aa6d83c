// A realm: an independent namespace of topics and procedures with its own
// sessions, served on the URL paths its configuration names.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "config/config.h"
#include "router/broker.h"
#include "router/dealer.h"
#include "router/session.h"
#include "router/uri_rules.h"

namespace kreuz::router {

class Realm {
public:
    Realm(config::RealmConfig config, std::string server_ident);
    Realm(const Realm&) = delete;
    Realm& operator=(const Realm&) = delete;

    const config::RealmConfig& config() const { return config_; }
    const std::string& name() const { return config_.name; }
    Broker& broker() { return broker_; }
    Dealer& dealer() { return dealer_; }
    const UriRules& rules() const { return rules_; }

    // A new session on a freshly upgraded connection; WELCOME is queued.
    std::unique_ptr<Session> open_session(ws::Connection& connection);
    // The session's connection is closing: forget it everywhere.
    void close_session(Session& session);

    Session* find_session(std::string_view id) const;
    std::size_t session_count() const { return sessions_.size(); }

private:
    struct StringHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };

    config::RealmConfig config_;
    std::string welcome_ident_;
    UriRules rules_;
    Broker broker_;
    Dealer dealer_;
    std::unordered_map<std::string, Session*, StringHash, std::equal_to<>> sessions_;
};

}  // namespace kreuz::router
