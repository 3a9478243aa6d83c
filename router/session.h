// One WAMP session: the WebSocket connection it rides on, its id, its CURIE
// prefixes, its subscriptions and its outstanding calls. It turns each text
// message into a typed WAMP message and hands it to the realm's broker or
// dealer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>

#include "router/timers.h"
#include "wamp/curie.h"
#include "wamp/message.h"
#include "router/transport.h"
#include "websocket/frame.h"

namespace kreuz::router {

class Realm;
class UriRules;

// Where a session stands in WAMP-CRA (digest 8.2); router/authentication.cpp
// moves it along.
struct AuthState {
    // An authreq answered and awaiting its auth: one try only.
    struct Pending {
        std::optional<std::string> signature;  // the one expected; nullopt for anonymous
        std::string authkey;                   // empty for anonymous
        std::string role;                      // what the session may do once authenticated
    };
    // Behind a pointer: only a session between authreq and auth needs it,
    // and idle sessions are what bounds a node's memory.
    std::unique_ptr<Pending> pending;
    bool authenticated = false;  // also after anonymous authentication
    std::string authkey;         // of the successful auth; empty when anonymous or none
    Timers::Id timeout = 0;      // the auth timeout's timer, 0 when none is running
};

class Session {
public:
    // Joins `realm` under a new session id and queues the WELCOME.
    Session(Realm& realm, Transport& transport);
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    const std::string& id() const { return id_; }
    Realm& realm() { return realm_; }

    // The rules of the session's role: the anonymous role's until an auth
    // succeeds, then those of the authenticated user's role.
    const UriRules& rules() const { return *rules_; }
    // Moves the session to `role` (or, after a reload, to its role's new
    // rules): the role and the rules derived from it change together.
    // Subscriptions the rules do not allow end here, so that no session keeps
    // receiving what its role may not see.
    void set_role(std::string role);
    const std::string& role() const { return role_; }
    AuthState& auth() { return auth_; }

    // Runs `callback` after `delay_ms` unless the session has closed by then.
    Timers::Id after(std::uint64_t delay_ms, std::function<void()> callback);
    void cancel(Timers::Id id);

    // A URI or CURIE as this session's prefixes expand it.
    std::string resolve(std::string_view uri) const { return prefixes_.resolve(uri); }

    // False once the connection has left the open state: the session is then
    // waiting for its on_close at the next safe point, and sends go nowhere.
    bool open() const { return transport_.is_open(); }

    // Queue a serialized WAMP message; shared bytes go to many sessions at once.
    void send(const std::shared_ptr<const std::string>& message);
    // A message serialized for this session alone: its buffer becomes the frame's payload, uncopied.
    void send(std::string&& message);

    // Bookkeeping for the broker: the topics this session is subscribed to.
    bool add_subscription(const std::string& topic);
    bool remove_subscription(const std::string& topic);
    const std::unordered_set<std::string>& subscriptions() const { return subscriptions_; }
    void clear_subscriptions() { subscriptions_.clear(); }

    // Bookkeeping for the dealer: false when this call exceeds the limit
    // (it is counted anyway, and finished by its error reply).
    bool call_started();
    void call_finished();

    // Every message in and out logged at info level, for debugging one
    // client in production without raising the log level for all.
    void set_trace(bool on) { trace_ = on; }
    bool trace() const { return trace_; }

    // A complete message from the client (text, or binary, which WAMP v1 does not use).
    void on_message(bool binary, std::string_view payload);
    // The transport has closed (with `code`): leave the realm. Called once, at
    // a safe point (router/transport.h); the session is destroyed after it.
    void on_close(std::uint16_t code);

private:
    void handle(wamp::Message& message);
    // Bad input from the client: ignored with a log line, or, in a strict
    // realm, the end of the connection with `close_code`.
    void reject(std::uint16_t close_code, std::string_view what);
    void violate_limit(std::string_view what);
    void account_sent(std::string_view message);

    Realm& realm_;
    Transport& transport_;
    std::string id_;
    wamp::PrefixMap prefixes_;
    std::unordered_set<std::string> subscriptions_;
    std::size_t pending_calls_ = 0;
    std::size_t rejected_ = 0;
    // Whose rules the session follows, anonymous_role until an auth succeeds.
    // A name as well as the rules: a reload replaces the rules and points
    // every session at its role's new ones. Both change only in set_role().
    std::string role_;
    const UriRules* rules_;
    AuthState auth_;
    std::unordered_set<Timers::Id> timers_;  // pending callbacks of after()
    bool trace_ = false;
};

}  // namespace kreuz::router
