#include "router/websocket_session.h"

namespace kreuz::router {

WebSocketSession::WebSocketSession(Realm& realm, ws::Connection& connection)
    : connection_(connection), session_(realm, *this) {}

void WebSocketSession::on_message(ws::Connection&, ws::Opcode opcode, std::string_view payload) {
    session_.on_message(opcode == ws::Opcode::binary, payload);
}

void WebSocketSession::on_close(ws::Connection&, std::uint16_t code) { session_.on_close(code); }

void WebSocketSession::send(const std::shared_ptr<const std::string>& message) {
    connection_.send(ws::Opcode::text, message);
}

void WebSocketSession::close(std::uint16_t code, std::string_view reason) { connection_.close(code, reason); }

std::unique_ptr<ws::MessageHandler> open_websocket_session(Realm& realm, ws::Connection& connection) {
    return std::make_unique<WebSocketSession>(realm, connection);
}

}  // namespace kreuz::router
