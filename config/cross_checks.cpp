#include "config/cross_checks.h"

#include <utility>

namespace kreuz::config {

std::string quote(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 2);
    out.append(1, '"').append(text).append(1, '"');
    return out;
}

std::string either(std::span<const std::string_view> choices) {
    std::string listed;
    for (std::size_t i = 0; i < choices.size(); ++i) {
        if (i > 0) listed += i + 1 == choices.size() ? " or " : ", ";
        listed += choices[i];
    }
    return listed;
}

std::string describe_size(std::uint64_t bytes) {
    if (bytes != 0) {
        for (const auto& [unit, shift] : {std::pair{"GiB", 30}, std::pair{"MiB", 20}, std::pair{"KiB", 10}}) {
            if (bytes % (std::uint64_t{1} << shift) == 0) return std::to_string(bytes >> shift) + unit;
        }
    }
    return std::to_string(bytes) + " bytes";
}

std::string queue_limit_below_high_water(const ws::WebSocketOptions& ws) {
    if (ws.write_queue_limit >= ws.write_high_water) return {};
    return "write_queue_limit (" + describe_size(ws.write_queue_limit) + ") must be at least write_high_water (" +
           describe_size(ws.write_high_water) +
           "): reading pauses at the high-water mark so that the queue can drain before the hard limit";
}

std::string queue_limit_below_message_size(const ws::WebSocketOptions& ws) {
    if (ws.write_queue_limit >= ws.max_message_size) return {};
    return "write_queue_limit (" + describe_size(ws.write_queue_limit) + ") must be at least max_message_size (" +
           describe_size(ws.max_message_size) +
           "): a single message must fit in the write queue, or delivering one of the largest allowed messages "
           "closes the connection";
}

std::string realm_message_size_above_transport(const RealmConfig& realm, const ws::WebSocketOptions& ws) {
    if (realm.max_message_size <= ws.max_message_size) return {};
    return describe_size(realm.max_message_size) + " exceeds websocket.max_message_size (" +
           describe_size(ws.max_message_size) + "), the bound the transport enforces for every endpoint";
}

std::string bridge_body_above_http_limit(const PublishBridgeConfig& bridge, const ws::WebSocketOptions& ws) {
    if (bridge.max_body <= ws.http.max_body_bytes) return {};
    return describe_size(bridge.max_body) + " exceeds websocket.max_http_body (" +
           describe_size(ws.http.max_body_bytes) + ")";
}

std::string reserved_path(std::string_view path) {
    for (std::string_view reserved : {"/health", "/health/live", "/health/ready", "/metrics"}) {
        if (path == reserved) return quote(reserved) + " is kreuz's own page";
    }
    return {};
}

std::string PathOwners::claim(const std::string& path, std::string owner) {
    auto [it, added] = owners_.emplace(path, std::move(owner));
    if (added) return {};
    return "path " + quote(path) + " is already used by " + it->second;
}

std::string inconsistency(const Config& config) {
    const ws::WebSocketOptions& ws = config.websocket;
    for (std::string problem : {queue_limit_below_high_water(ws), queue_limit_below_message_size(ws)}) {
        if (!problem.empty()) return problem;
    }
    PathOwners paths;
    for (const RealmConfig& realm : config.realms) {
        if (std::string p = realm_message_size_above_transport(realm, ws); !p.empty()) {
            return "realm " + quote(realm.name) + ": max_message_size " + p;
        }
        for (const std::string& path : realm.paths) {
            if (std::string p = paths.claim(path, "realm " + quote(realm.name)); !p.empty()) return p;
        }
        if (realm.publish_bridge) {
            const PublishBridgeConfig& bridge = *realm.publish_bridge;
            const std::string owner = "the publish bridge of realm " + quote(realm.name);
            if (std::string p = paths.claim(bridge.path, owner); !p.empty()) return p;
            if (std::string p = bridge_body_above_http_limit(bridge, ws); !p.empty()) return owner + ": max_body " + p;
        }
    }
    if (!config.echo_path.empty()) {
        if (config.echo_path[0] != '/') return "echo path must start with \"/\", got " + quote(config.echo_path);
        if (std::string p = reserved_path(config.echo_path); !p.empty()) return "echo path " + p;
        if (std::string p = paths.claim(config.echo_path, "the echo endpoint"); !p.empty()) return p;
    }
    return {};
}

}  // namespace kreuz::config
