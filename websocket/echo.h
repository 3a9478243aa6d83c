// The echo endpoint of the conformance tests: every message goes back as it
// came. It runs on exactly the same connection code as the WAMP endpoint.
#pragma once

#include <memory>

#include "websocket/server.h"

namespace kreuz::ws {

class EchoHandler final : public MessageHandler {
public:
    void on_message(Connection& connection, Opcode opcode, std::string_view payload) override {
        connection.send(opcode, payload);
    }
    void on_close(Connection&, std::uint16_t) override {}
};

inline Endpoint echo_endpoint(std::string path, const DeflateOptions& deflate) {
    Endpoint endpoint;
    endpoint.path = std::move(path);
    endpoint.policy.deflate = deflate;
    endpoint.open = [](Connection&) { return std::make_unique<EchoHandler>(); };
    return endpoint;
}

}  // namespace kreuz::ws
