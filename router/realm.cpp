#include "router/realm.h"

#include <spdlog/spdlog.h>

#include "wamp/session_id.h"

namespace kreuz::router {

Realm::Realm(config::RealmConfig config, std::string server_ident)
    : config_(std::move(config)),
      welcome_ident_(std::move(server_ident)),
      rules_(config_.rules),
      broker_(*this),
      dealer_(*this) {}

std::unique_ptr<Session> Realm::open_session(ws::Connection& connection) {
    std::string id = wamp::new_session_id();
    // 96 random bits make a clash all but impossible; all but is not never.
    while (sessions_.count(id) != 0) id = wamp::new_session_id();
    auto session = std::make_unique<Session>(*this, connection, id);
    sessions_.emplace(id, session.get());
    session->send(wamp::serialize(wamp::Welcome{id, 1, welcome_ident_}));
    spdlog::debug("[session {}] opened in realm {} from {}", id, config_.name, connection.remote_address());
    return session;
}

void Realm::close_session(Session& session) {
    broker_.remove_session(session);
    sessions_.erase(session.id());
}

Session* Realm::find_session(std::string_view id) const {
    auto it = sessions_.find(id);
    return it == sessions_.end() ? nullptr : it->second;
}

}  // namespace kreuz::router
