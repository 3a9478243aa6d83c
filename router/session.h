// One WAMP session: the WebSocket connection it rides on, its id, its CURIE
// prefixes, its subscriptions and its outstanding calls. It turns each text
// message into a typed WAMP message and hands it to the realm's broker or
// dealer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>

#include "wamp/curie.h"
#include "wamp/message.h"
#include "websocket/connection.h"

namespace kreuz::router {

class Realm;

class Session final : public ws::MessageHandler {
public:
    Session(Realm& realm, ws::Connection& connection, std::string id);

    const std::string& id() const { return id_; }
    Realm& realm() { return realm_; }

    // Queue a serialized WAMP message; shared bytes go to many sessions at once.
    void send(std::shared_ptr<const std::string> message);
    void send(std::string_view message);

    // Bookkeeping for the broker: the topics this session is subscribed to.
    bool add_subscription(const std::string& topic);
    bool remove_subscription(const std::string& topic);
    const std::unordered_set<std::string>& subscriptions() const { return subscriptions_; }
    void clear_subscriptions() { subscriptions_.clear(); }

    // Bookkeeping for the dealer: false when this call exceeds the limit
    // (it is counted anyway, and finished by its error reply).
    bool call_started();
    void call_finished();

    void on_message(ws::Connection& connection, ws::Opcode opcode, std::string_view payload) override;
    void on_close(ws::Connection& connection, std::uint16_t code) override;

private:
    void handle(wamp::Message& message);
    // Bad input from the client: ignored with a log line, or, in a strict
    // realm, the end of the connection with `close_code`.
    void reject(std::uint16_t close_code, std::string_view what);
    void violate_limit(std::string_view what);

    Realm& realm_;
    ws::Connection& connection_;
    std::string id_;
    wamp::PrefixMap prefixes_;
    std::unordered_set<std::string> subscriptions_;
    std::size_t pending_calls_ = 0;
    std::size_t rejected_ = 0;
};

}  // namespace kreuz::router
