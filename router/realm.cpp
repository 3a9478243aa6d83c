#include "router/realm.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "wamp/session_id.h"

namespace kreuz::router {

Realm::Realm(config::RealmConfig config, std::string server_ident, Timers& timers)
    : config_(std::move(config)),
      welcome_ident_(std::move(server_ident)),
      timers_(timers),
      rules_(config_.rules),
      random_(std::random_device{}()),
      broker_(*this),
      dealer_(*this),
      registrations_(*this) {
    build_roles_and_users();
}

void Realm::build_roles_and_users() {
    role_rules_.clear();
    users_.clear();
    for (const auto& [role, rules] : config_.roles) role_rules_.emplace(role, rules);
    for (const config::AuthUser& user : config_.auth.users) {
        User ready{user.secret, std::nullopt, user.role};
        if (user.salted) {
            ready.salt = wamp::cra::Salt{user.salted->salt, user.salted->keylen, user.salted->iterations};
            if (!user.secret_is_derived_key) {
                ready.hmac_key = wamp::cra::derive_key(user.secret, user.salted->salt, user.salted->iterations,
                                                       user.salted->keylen);
            }
        }
        users_.emplace(user.key, std::move(ready));
    }
}

void Realm::reconfigure(config::RealmConfig config) {
    config_ = std::move(config);
    rules_ = UriRules(config_.rules);
    build_roles_and_users();
    // The old rules are gone: nothing may point at them past this loop.
    for (auto& [id, session] : sessions_) session->set_role(session->role());
}

const UriRules& Realm::rules_for(std::string_view role) const {
    auto it = role_rules_.find(role);
    return it == role_rules_.end() ? rules_ : it->second;
}

const User* Realm::find_user(std::string_view key) const {
    auto it = users_.find(key);
    return it == users_.end() ? nullptr : &it->second;
}

std::uint64_t Realm::failure_delay_ms() {
    const double mean = config_.auth.failure_delay_ms;
    if (mean <= 0) return 0;
    std::exponential_distribution<double> delay(1.0 / mean);
    return static_cast<std::uint64_t>(std::min(delay(random_), 4 * mean));
}

std::string Realm::new_session_id() const {
    std::string id = session_id_prefix_ + wamp::new_session_id();
    // 96 random bits make a clash all but impossible; all but is not never.
    while (sessions_.count(id) != 0) id = session_id_prefix_ + wamp::new_session_id();
    return id;
}

void Realm::join_cluster(Backplane& backplane, const std::string& node_id) {
    backplane_ = &backplane;
    session_id_prefix_ = node_id + ".";
}

void Realm::add_session(Session& session) {
    sessions_.emplace(session.id(), &session);
    ++metrics_.sessions_opened;
}

void Realm::close_session(Session& session) {
    broker_.remove_session(session);
    sessions_.erase(session.id());
    // After the erase: a call the session made to its own procedure fails
    // here, and its answer must find no session to send to.
    registrations_.remove_session(session.id());
}

Session* Realm::find_session(std::string_view id) const {
    auto it = sessions_.find(id);
    return it == sessions_.end() ? nullptr : it->second;
}

}  // namespace kreuz::router
