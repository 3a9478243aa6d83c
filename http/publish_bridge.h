// The publish bridge of a realm: HTTP POST -> PUBLISH, for application
// backends that push events (docs/CONFIG.md, publish_bridge). Requests may be
// signed with HMAC-SHA256 under a configured key; the signed string is
// topic ‖ key ‖ timestamp ‖ body, as early Crossbar's REST pusher defined it.
#pragma once

#include <chrono>
#include <string>

#include "config/config.h"
#include "websocket/http_request.h"

namespace kreuz::router {
class Realm;
}  // namespace kreuz::router

namespace kreuz::http {

using router::Realm;

class PublishBridge {
public:
    // The realm's configuration must have a publish_bridge.
    explicit PublishBridge(Realm& realm);

    const std::string& path() const { return config_.path; }

    // A complete HTTP response: 202 with the receivers, or the refusal.
    std::string respond(const ws::HttpRequest& request, std::chrono::system_clock::time_point now);

private:
    Realm& realm_;
    const config::PublishBridgeConfig& config_;
};

// The URL-safe Base64 signature (no padding) of a bridge request.
std::string bridge_signature(const std::string& secret, std::string_view topic, std::string_view key,
                             std::string_view timestamp, std::string_view body);

}  // namespace kreuz::http
