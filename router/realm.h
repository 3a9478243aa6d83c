// A realm: an independent namespace of topics and procedures with its own
// sessions, served on the URL paths its configuration names.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>

#include "config/config.h"
#include "router/backplane.h"
#include "router/broker.h"
#include "router/dealer.h"
#include "router/metrics.h"
#include "router/registrations.h"
#include "router/session.h"
#include "router/string_hash.h"
#include "router/timers.h"
#include "router/uri_rules.h"
#include "wamp/cra.h"
#include "wamp/json_reader.h"

namespace kreuz::router {

// A WAMP-CRA user, ready to sign challenges.
struct User {
    std::string hmac_key;                 // the secret, or the derived key of a salted user
    std::optional<wamp::cra::Salt> salt;  // sent as the challenge's authextra
    std::string role;                     // what the user's sessions may do once authenticated
};

class Realm {
public:
    // Salted users' keys are derived here, once, from their secrets.
    Realm(config::RealmConfig config, std::string server_ident, Timers& timers);
    Realm(const Realm&) = delete;
    Realm& operator=(const Realm&) = delete;

    const config::RealmConfig& config() const { return config_; }
    const std::string& name() const { return config_.name; }
    Broker& broker() { return broker_; }
    Dealer& dealer() { return dealer_; }
    Registrations& registrations() { return registrations_; }
    const Registrations& registrations() const { return registrations_; }
    Timers& timers() { return timers_; }
    RealmMetrics& metrics() { return metrics_; }
    const RealmMetrics& metrics() const { return metrics_; }
    wamp::JsonReader& json_reader() { return json_reader_; }
    // The other nodes of a cluster; nullptr for a single node.
    Backplane* backplane() const { return backplane_; }
    // Makes the realm part of a cluster before any session opens: its
    // session ids then start with "<node_id>.", unique across the nodes
    // without asking them, and telling at a glance which node holds a session.
    void join_cluster(Backplane& backplane, const std::string& node_id);

    // The rules of a role: its own when the realm configures it, else the realm's.
    const UriRules& rules_for(std::string_view role) const;
    const User* find_user(std::string_view key) const;
    // How long to hold back an invalid-signature answer: exponentially
    // distributed around auth.failure_delay, at most four times it, so that
    // the answer's timing tells nothing about how the signature was wrong.
    std::uint64_t failure_delay_ms();

    // Takes over a reloaded configuration of this realm (same name and paths):
    // rules, roles, users and limits change at once, and every session is
    // pointed at its role's new rules. Procedures are the node's to renew (app/node.h).
    void reconfigure(config::RealmConfig config);

    // A session id no session of this realm has.
    std::string new_session_id() const;
    // The serverIdent of WELCOME.
    const std::string& welcome_ident() const { return welcome_ident_; }
    // Called by a new session (Session's constructor), and by a closing one
    // (Session::on_close) to be forgotten everywhere.
    void add_session(Session& session);
    void close_session(Session& session);

    Session* find_session(std::string_view id) const;
    std::size_t session_count() const { return sessions_.size(); }

private:
    void build_roles_and_users();

    config::RealmConfig config_;
    std::string welcome_ident_;
    Timers& timers_;
    Backplane* backplane_ = nullptr;
    std::string session_id_prefix_;
    UriRules rules_;
    std::map<std::string, UriRules, std::less<>> role_rules_;
    std::unordered_map<std::string, User, StringHash, std::equal_to<>> users_;
    RealmMetrics metrics_;
    wamp::JsonReader json_reader_;  // one per realm: the loop is single, messages are parsed one at a time
    std::mt19937_64 random_;
    Broker broker_;
    Dealer dealer_;
    std::unordered_map<std::string, Session*, StringHash, std::equal_to<>> sessions_;
    // Last, so it goes first: the replies of calls waiting for a callee look
    // their callers up in sessions_.
    Registrations registrations_;
};

}  // namespace kreuz::router
