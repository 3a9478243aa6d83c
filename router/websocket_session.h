// A WAMP session on a WebSocket connection: the handler the WebSocket layer
// calls and the transport the session sends through, one object with the
// session inside, so that a connection's WAMP state is one allocation.
#pragma once

#include <memory>

#include "router/session.h"
#include "router/transport.h"
#include "websocket/connection.h"

namespace kreuz::router {

class Realm;

class WebSocketSession final : public ws::MessageHandler, public Transport {
public:
    WebSocketSession(Realm& realm, ws::Connection& connection);

    // ws::MessageHandler
    void on_message(ws::Connection& connection, ws::Opcode opcode, std::string_view payload) override;
    void on_close(ws::Connection& connection, std::uint16_t code) override;

    // Transport
    bool is_open() const override { return connection_.is_open(); }
    void send(const std::shared_ptr<const std::string>& message) override;
    void close(std::uint16_t code, std::string_view reason) override;
    const std::string& remote_address() const override { return connection_.remote_address(); }

private:
    ws::Connection& connection_;
    Session session_;  // after connection_: it sends its WELCOME while it is built
};

// The endpoint handler of a realm's WebSocket paths.
std::unique_ptr<ws::MessageHandler> open_websocket_session(Realm& realm, ws::Connection& connection);

}  // namespace kreuz::router
