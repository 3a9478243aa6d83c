// What a Session needs of the connection it rides on, and nothing more: a
// WebSocket connection in production (router/websocket_session.h), a
// recording fake in the unit tests, so that broker, dealer, registrations and
// authentication can be tested without a socket.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace kreuz::router {

class Transport {
public:
    virtual ~Transport() = default;

    // False once the connection has left the open state; sends are then ignored.
    virtual bool is_open() const = 0;
    // One text message. Shared bytes may be queued on many transports at once;
    // a transport that keeps them takes its own reference, so a fan-out
    // passes one down without a reference count change per layer.
    virtual void send(const std::shared_ptr<const std::string>& message) = 0;
    // Starts closing with a WebSocket close code. A send may close a transport
    // too (a queue over its limit). Either way the session is told in
    // Session::on_close at the next safe point of the loop, never inside the
    // call that closed it (the teardown rule, websocket/connection.h).
    virtual void close(std::uint16_t code, std::string_view reason) = 0;
    // "ip:port" of the peer, for the log.
    virtual const std::string& remote_address() const = 0;
};

}  // namespace kreuz::router
